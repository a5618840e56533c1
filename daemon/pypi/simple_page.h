#pragma once
// Turning an upstream Simple API page into the page hoard serves, once per
// fill (never per request): the PEP 691 JSON and the PEP 503 HTML rendered
// from the same document (so the two never disagree), every file link
// pointing at hoard, and the table that maps each file name hoard may serve
// to its upstream URL and the sha256 it must match.
//
// Runs on the thread pool: project pages reach megabytes, the project list
// tens of megabytes.
#include <cstddef>
#include <expected>
#include <map>
#include <string>
#include <string_view>

#include "daemon/document/file_source.h"

namespace hoard::pypi {

// RFC 3986 section 5 reference resolution (absolute, scheme-relative,
// absolute-path and relative references, dot segments removed). The result
// carries no fragment: the caller reads "#sha256=" off the reference itself.
std::string resolveUrl(std::string_view base, std::string_view ref);

struct RenderedProjectPage {
  std::string json, html;
  // "<filename>" and, where the core metadata has a verifiable sha256,
  // "<filename>.metadata" -> upstream URL and digest.
  std::map<std::string, FileSource> files;
  std::size_t droppedFiles = 0;  // entries hoard cannot serve (no sha256, bad name, duplicate)
};

// `upstreamJson` is the upstream's application/vnd.pypi.simple.v1+json page
// for `project` (normalized), fetched from `pageUrl`. The result is meant to
// be served at /pypi/simple/<project>/: file URLs become
// "../../files/<project>/<filename>". Only files with a sha256 and an
// http(s) upstream URL survive; core
// metadata survives only with a sha256 (else it becomes `false`), and JSON
// carries only the PEP 714 `core-metadata` key (pip 22.3-23.1, e.g. Debian
// 12's 23.0.1, fails on any `dist-info-metadata` key in JSON); HTML carries
// both data-core-metadata and data-dist-info-metadata.
std::expected<RenderedProjectPage, std::string> renderProjectPage(std::string_view upstreamJson,
                                                                  std::string_view pageUrl,
                                                                  std::string_view project);

// The same from an upstream that only speaks PEP 503 HTML (static indexes,
// older private indexes): anchors, "#sha256=" fragments, data-* attributes,
// <base href>, the pypi:repository-version meta tag. Tolerant of any input.
std::expected<RenderedProjectPage, std::string> parseSimpleHtml(std::string_view upstreamHtml,
                                                                std::string_view pageUrl,
                                                                std::string_view project);

struct RenderedProjectList {
  std::string json, html;
};

// The root /simple/ list from the upstream's JSON. Entries whose name is not
// a valid project name are left out of both forms; HTML links are relative
// to /pypi/simple/ ("<normalized>/").
std::expected<RenderedProjectList, std::string> renderProjectList(std::string_view upstreamJson);

}  // namespace hoard::pypi
