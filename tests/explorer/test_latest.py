"""Latest-wins work: requests waiting while one runs are replaced by the newest."""

import threading

from affect.explorer.latest import LatestWins


def test_requests_that_arrive_during_a_run_collapse_into_the_newest():
    started, release, done = threading.Event(), threading.Event(), []

    def work(request):
        started.set()
        release.wait(5)
        done.append(request)

    worker = LatestWins(work, on_error=lambda error: None)
    worker.submit(0)
    assert started.wait(5)
    for request in range(1, 6):  # a drag: five pointer events while the first update runs
        worker.submit(request)
    release.set()
    assert worker.wait(5)
    assert done == [0, 5] and worker.dropped == 4


def test_a_failing_request_is_reported_and_the_worker_goes_on():
    errors, done = [], []

    def work(request):
        if request == "bad":
            raise ValueError("bad request")
        done.append(request)

    worker = LatestWins(work, on_error=errors.append)
    worker.submit("bad")
    assert worker.wait(5)
    worker.submit("good")
    assert worker.wait(5)
    assert [str(e) for e in errors] == ["bad request"] and done == ["good"]
