"""Single requests' documents are rendered in worker processes (issue 12): a render there gives the
same document as in the service's own process, a killed worker costs only that render (made again
in a new pool), and the fault injector does not take a render worker for a batch worker."""

from __future__ import annotations

import functools
import os
import signal

from hbs_devtools.faults import batch_workers, children_of
from hbs_signing.documents.layout import Verification, render_score_sheet
from hbs_signing.requests.rendering import RenderPool
from hbs_signing.samples import score_sheet_content

VERIFICATION = Verification("ABCDEFGHJK", "https://hocba.example.vn/verify/ABCDEFGHJK")


def _render_workers() -> list[int]:
    workers = []
    for pid in children_of(os.getpid()):
        try:
            with open(f"/proc/{pid}/comm") as comm:
                if comm.read().strip() == "hbs-render":
                    workers.append(pid)
        except OSError:
            continue
    return workers


async def test_a_killed_render_worker_costs_only_its_render() -> None:
    render = functools.partial(render_score_sheet, score_sheet_content(5))
    pool = RenderPool(1)
    try:
        await pool.start()
        first = await pool.render(render, VERIFICATION)
        assert first.startswith(b"%PDF")
        workers = _render_workers()
        assert len(workers) == 1
        assert batch_workers(os.getpid()) == []  # not a batch worker for `kill_worker`
        os.kill(workers[0], signal.SIGKILL)
        again = await pool.render(render, VERIFICATION)
        assert again.startswith(b"%PDF")
        renewed = _render_workers()
        assert renewed
        assert renewed != workers
    finally:
        pool.close()
