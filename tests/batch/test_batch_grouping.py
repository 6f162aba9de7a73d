"""Items grouped into executor tasks (what the Dask executor asks for): same outcomes, fewer
tasks, and a failed item retried on its own."""

from __future__ import annotations

import concurrent.futures as cf

from guv_app.services.batch.runner import items_per_task, run_batch


class CountingExecutor(cf.ThreadPoolExecutor):
    """A thread pool that counts submitted tasks and asks for a given grouping."""

    def __init__(self, items_per_task, item_retries: int = 0) -> None:
        super().__init__(max_workers=2)
        self.items_per_task = items_per_task
        self.item_retries = item_retries
        self.submitted: list[int] = []

    def submit(self, fn, /, *args, **kwargs):
        self.submitted.append(len(args[1]))  # _call_many(work, [tasks])
        return super().submit(fn, *args, **kwargs)


def square(x: int) -> int:
    if x == 7:
        raise ValueError("seven is unlucky")
    return x * x


def test_grouped_items_give_the_outcomes_of_single_items():
    tasks = list(range(20))
    with CountingExecutor(3) as ex:
        report = run_batch(tasks, square, executor=ex, max_in_flight=2)
    assert ex.submitted == [3, 3, 3, 3, 3, 3, 2]  # 7 tasks for 20 items
    assert [o.index for o in report.outcomes] == tasks
    assert [o.result for o in report.outcomes if o.status == "done"] == \
        [x * x for x in tasks if x != 7]
    failed = [o for o in report.outcomes if o.status == "failed"]
    assert [(o.index, o.reason) for o in failed] == [(7, "ValueError: seven is unlucky")]


def test_a_failed_item_of_a_group_is_retried_alone():
    with CountingExecutor(4, item_retries=1) as ex:
        report = run_batch(list(range(8)), square, executor=ex, max_in_flight=1)
    assert ex.submitted == [4, 4, 1]  # item 7 once more, on its own
    assert report.count("failed") == 1 and report.count("done") == 7


def test_auto_grouping_keeps_four_tasks_per_slot_and_a_ceiling():
    class Auto:
        items_per_task = "auto"

    assert items_per_task(Auto(), 10, 8) == 1
    assert items_per_task(Auto(), 200, 8) == 6
    assert items_per_task(Auto(), 100_000, 8) == 32
    assert items_per_task(object(), 200, 8) == 1
