// Computes the expected h1 values for go_dirhash_test.cpp with the reference
// implementation (golang.org/x/mod/sumdb/dirhash) and builds hello.zip with
// golang.org/x/mod/zip, exactly as a module proxy would. Run via gen.sh.
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

func check(err error) {
	if err != nil {
		panic(err)
	}
}

// helloTree is the source of hello.zip: names chosen so that byte order
// differs from path-component order ("sub-x.txt" < "sub/..."), upper case
// sorts first, and one name is not ASCII.
var helloTree = map[string]string{
	"go.mod":                "module example.com/hello\n\ngo 1.19\n",
	"hello.go":              "package hello\n\nfunc Hello() string { return \"hi\" }\n",
	"LICENSE":               "Public domain.\n",
	"Z.txt":                 "upper case sorts first\n",
	"a.txt":                 "a\n",
	"sub-x.txt":             "dash sorts before slash\n",
	"sub/dir/file.txt":      "nested\n",
	"sub/\u00fcn\u00ef.txt": "non-ascii name\n",
	"empty.txt":             "",
	"big.txt":               bigText(),
}

// bigText inflates to several output chunks but compresses to little.
func bigText() string {
	var b strings.Builder
	for i := 0; i < 10000; i++ {
		if i%1000 == 0 {
			fmt.Fprintf(&b, "mark %d\n", i)
		}
		b.WriteString("the quick brown fox jumps over the lazy dog\n")
	}
	return b.String()
}

// synthetic mirrors syntheticFiles() in go_dirhash_test.cpp.
func synthetic() map[string][]byte {
	const p = "example.com/syn@v0.1.0/"
	big := make([]byte, 300000)
	x := uint64(42)
	for i := range big {
		x = x*6364136223846793005 + 1442695040888963407
		big[i] = byte(x >> 56)
	}
	return map[string][]byte{
		p + "go.mod":    []byte("module example.com/syn\n"),
		p + "a.txt":     []byte("alpha\n"),
		p + "Z.txt":     []byte("zed"),
		p + "sub-x.txt": {},
		p + "sub/b.go":  []byte("package sub\n"),
		p + "big.bin":   big,
	}
}

func main() {
	out := os.Args[1]
	var lines []string

	src, err := os.MkdirTemp("", "hello")
	check(err)
	defer os.RemoveAll(src)
	for name, data := range helloTree {
		path := filepath.Join(src, filepath.FromSlash(name))
		check(os.MkdirAll(filepath.Dir(path), 0o755))
		check(os.WriteFile(path, []byte(data), 0o644))
	}
	mv := module.Version{Path: "example.com/hello", Version: "v1.0.0"}
	f, err := os.Create(filepath.Join(out, "hello.zip"))
	check(err)
	check(modzip.CreateFromDir(f, mv, src))
	check(f.Close())
	dirH1, err := dirhash.HashDir(src, mv.Path+"@"+mv.Version, dirhash.Hash1)
	check(err)

	zips, err := filepath.Glob(filepath.Join(out, "*.zip"))
	check(err)
	for _, z := range zips {
		h, err := dirhash.HashZip(z, dirhash.Hash1)
		check(err)
		if filepath.Base(z) == "hello.zip" && h != dirH1 {
			panic("HashZip(hello.zip) != HashDir(source tree)")
		}
		lines = append(lines, filepath.Base(z)+" "+h)
	}

	mods, err := filepath.Glob(filepath.Join(out, "*.mod"))
	check(err)
	for _, m := range mods {
		data, err := os.ReadFile(m)
		check(err)
		// What cmd/go does for a go.mod: hash the single file "go.mod".
		h, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		})
		check(err)
		lines = append(lines, filepath.Base(m)+" "+h)
	}

	syn := synthetic()
	var names []string
	for n := range syn {
		names = append(names, n)
	}
	h, err := dirhash.Hash1(names, func(n string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(syn[n])), nil
	})
	check(err)
	lines = append(lines, "synthetic "+h)

	sort.Strings(lines)
	check(os.WriteFile(filepath.Join(out, "expected.txt"), []byte(strings.Join(lines, "\n")+"\n"), 0o644))
}
