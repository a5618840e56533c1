#include "cache/off_loop.h"

namespace hoard::detail {

CancelHandle submitOffLoop(uv_loop_t* loop, std::unique_ptr<OffLoopJob> owned) {
  OffLoopJob* job = owned.release();
  job->req.data = job;
  job->alive = std::make_shared<OffLoopJob*>(job);
  std::weak_ptr<OffLoopJob*> weak = job->alive;
  int rc = uv_queue_work(
      loop, &job->req, [](uv_work_t* req) { static_cast<OffLoopJob*>(req->data)->work(); },
      [](uv_work_t* req, int status) {
        std::unique_ptr<OffLoopJob> j(static_cast<OffLoopJob*>(req->data));
        *j->alive = nullptr;
        if (status != 0) return;  // never ran
        if (!j->cancelled) {
          if (j->done) j->done();
        } else if (j->dropped) {
          j->dropped();
        }
      });
  if (rc != 0) {
    // Cannot happen for uv_queue_work with a valid loop; run nothing, report nothing.
    delete job;
    return CancelHandle();
  }
  return CancelHandle([weak] {
    if (auto alive = weak.lock(); alive && *alive) {
      (*alive)->cancelled = true;
      uv_cancel(reinterpret_cast<uv_req_t*>(&(*alive)->req));
    }
  });
}

}  // namespace hoard::detail
