
import psutil
import pytest

from lifeceo.platform.db.embedded import DataDirInUse, EmbeddedPostgres


def postgres_processes(pgdata) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(pgdata) in " ".join(process.info["cmdline"] or ()):
            found.append(process)
    return found


def test_one_owner_per_data_dir_and_clean_stop(tmp_path):
    first = EmbeddedPostgres(tmp_path)
    url = first.start()
    try:
        assert url.startswith("postgresql://")
        with pytest.raises(DataDirInUse, match="in use by another lifeceo process"):
            EmbeddedPostgres(tmp_path).start()
        assert postgres_processes(first.pgdata)
    finally:
        first.stop()
    assert postgres_processes(first.pgdata) == []
    # The lock is released: the data dir can be started again, keeping its data.
    again = EmbeddedPostgres(tmp_path)
    again.start()
    again.stop()


def test_a_postgres_orphaned_by_a_killed_owner_is_taken_over(tmp_path):
    owner = EmbeddedPostgres(tmp_path)
    owner.start()
    postmaster = int((owner.pgdata / "postmaster.pid").read_text().split()[0])
    owner._unlock()  # what the kernel does when the owning process is killed
    successor = EmbeddedPostgres(tmp_path)
    successor.start()
    try:
        assert not psutil.pid_exists(postmaster) or psutil.Process(postmaster).status() == "zombie"
        assert postgres_processes(successor.pgdata)
    finally:
        successor.stop()
    assert postgres_processes(successor.pgdata) == []
