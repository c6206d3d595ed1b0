"""The planner: one job per show folder and per movie (its parts and versions), each job
as urgent as its most urgent item, and jobs in priority order."""

from __future__ import annotations

from typing import Any

import pytest

from sidecar.lifecycle import Lifecycle
from sidecar.planner import PRIORITY_OF_STATE, job_key, plan
from sidecar.state import Item
from sidecar.workqueue import Priority

L = Lifecycle


def movie(path: str, state: Lifecycle = L.NEW, **kw: Any) -> Item:
    folder = path.rsplit("/", 1)[0]
    return Item(path=path, media_type="movie", state=state, parent_path=folder, **kw)


def episode(path: str, show_dir: str | None, state: Lifecycle = L.NEW, **kw: Any) -> Item:
    folder = path.rsplit("/", 1)[0]
    return Item(path=path, media_type="episode", state=state, parent_path=folder,
                show_dir=show_dir, **kw)


def test_episodes_of_one_show_are_one_job() -> None:
    show = "/tv/Show"
    items = [episode(f"{show}/Season {s:02d}/Show - S{s:02d}E{e:02d}.mkv", show)
             for s in (1, 2, 3) for e in range(1, 68)]
    jobs = plan(items)
    assert len(items) == 201 and len(jobs) == 1
    job = jobs[0]
    assert (job.kind, job.key) == ("tv", ("tv", show))
    assert job.paths == tuple(sorted(i.path for i in items))


def test_an_episode_without_show_dir_keys_on_its_folder() -> None:
    item = episode("/tv/Loose/Loose - S01E01.mkv", None)
    assert job_key(item) == ("tv", "/tv/Loose")


def test_parts_and_versions_of_one_movie_are_one_job() -> None:
    items = [movie("/m/Kill Bill (2003)/Kill Bill (2003) - cd1.avi", title="Kill Bill", year=2003),
             movie("/m/Kill Bill (2003)/Kill Bill (2003) - cd2.avi", title="kill bill", year=2003),
             movie("/m/1917 (2019)/1917 (2019) - 1080p.mkv", title="1917", year=2019),
             movie("/m/1917 (2019)/1917 (2019) - 2160p.mkv", title="1917", year=2019)]
    jobs = plan(items)
    assert [len(j.paths) for j in jobs] == [2, 2]
    assert {j.kind for j in jobs} == {"movie"}


def test_different_movies_in_one_folder_are_separate_jobs() -> None:
    items = [movie("/m/Shared/Alpha (2000).mkv", title="Alpha", year=2000),
             movie("/m/Shared/Beta (2002).mkv", title="Beta", year=2002),
             movie("/m/Shared/Alpha (2010).mkv", title="Alpha", year=2010)]
    assert len(plan(items)) == 3


def test_the_same_title_in_two_folders_is_two_jobs() -> None:
    items = [movie("/m/a/Heat (1995).mkv", title="Heat", year=1995),
             movie("/m/b/Heat (1995).mkv", title="Heat", year=1995)]
    assert len(plan(items)) == 2


def test_a_known_tmdb_id_groups_regardless_of_title() -> None:
    items = [movie("/m/X/a.mkv", title="A", tmdb_id=5), movie("/m/X/b.mkv", title="B", tmdb_id=5),
             movie("/m/X/c.mkv", title="A", tmdb_id=6)]
    jobs = plan(items)
    assert sorted(len(j.paths) for j in jobs) == [1, 2]
    assert job_key(items[0]) == ("movie", "/m/X|tmdb:5")


@pytest.mark.parametrize(("state", "priority"), [
    (L.NEW, Priority.HIGH), (L.CHANGED, Priority.MEDIUM), (L.STALE, Priority.LOW),
    (L.ERROR, Priority.LOW), (L.INDEXED, Priority.VERY_LOW)])
def test_priority_follows_the_state(state: Lifecycle, priority: Priority) -> None:
    assert PRIORITY_OF_STATE[state] == priority
    assert plan([movie("/m/a.mkv", state)])[0].priority == priority


def test_a_job_takes_its_most_urgent_item() -> None:
    show = "/tv/S"
    items = [episode(f"{show}/S - S01E01.mkv", show, L.STALE),
             episode(f"{show}/S - S01E02.mkv", show, L.NEW),
             episode(f"{show}/S - S01E03.mkv", show, L.ERROR)]
    assert plan(items)[0].priority == Priority.HIGH


def test_a_given_priority_wins_and_jobs_come_in_order() -> None:
    items = [movie("/m/b.mkv", L.STALE, title="b"), movie("/m/a.mkv", L.NEW, title="a"),
             movie("/m/c.mkv", L.CHANGED, title="c")]
    assert [j.paths[0] for j in plan(items)] == ["/m/a.mkv", "/m/c.mkv", "/m/b.mkv"]
    forced = plan(items, Priority.CRITICAL)
    assert {j.priority for j in forced} == {Priority.CRITICAL}
    assert [j.paths[0] for j in forced] == ["/m/a.mkv", "/m/b.mkv", "/m/c.mkv"]


def test_nothing_to_plan() -> None:
    assert plan([]) == []
