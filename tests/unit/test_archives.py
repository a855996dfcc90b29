from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from sites.archives import ArchiveRejected, extract_archive


def tar_with(tmp_path, *members, name="a.tar.gz"):
    path = tmp_path / name
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def file_member(name: str, data: bytes = b"x", mode: int = 0o644):
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    return info, data


def link_member(name: str, target: str, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def test_it_unpacks_files_and_strips_a_single_top_folder(tmp_path):
    archive = tar_with(tmp_path, file_member("proj-main/index.html", b"hi"), file_member("proj-main/bin/run", b"#!", 0o755),
                       link_member("proj-main/latest", "index.html"))
    assert extract_archive(archive, tmp_path / "out", max_bytes=10**6) == 2
    assert (tmp_path / "out/index.html").read_bytes() == b"hi"
    assert (tmp_path / "out/bin/run").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "out/latest").readlink().as_posix() == "index.html"


@pytest.mark.parametrize("member, message", [
    (file_member("../evil"), "escapes its root"),
    (file_member("a/../../evil"), "escapes its root"),
    (file_member("/etc/evil"), "absolute path"),
    (link_member("public/passwd", "/etc/passwd"), "points outside"),
    (link_member("public/up", "../../etc"), "points outside"),
    (link_member("hard", "/etc/shadow", tarfile.LNKTYPE), "absolute path"),
    (link_member("hard", "missing-file", tarfile.LNKTYPE), "points outside"),
])
def test_it_rejects_members_that_escape(tmp_path, member, message):
    archive = tar_with(tmp_path, file_member("index.html"), member)
    with pytest.raises(ArchiveRejected, match=message):
        extract_archive(archive, tmp_path / "out", max_bytes=10**6)
    assert not (tmp_path / "out").exists()  # nothing written before every member was checked


def test_it_rejects_devices(tmp_path):
    info = tarfile.TarInfo("dev/null")
    info.type = tarfile.CHRTYPE
    with pytest.raises(ArchiveRejected, match="special file"):
        extract_archive(tar_with(tmp_path, (info, None)), tmp_path / "out", max_bytes=10**6)


def test_it_refuses_a_path_through_a_link_written_earlier(tmp_path):
    archive = tar_with(tmp_path, link_member("dir", "."), file_member("dir/x"), file_member("other"))
    # `dir` -> `.` stays inside; writing dir/x through it lands inside too, which is fine...
    extract_archive(archive, tmp_path / "ok", max_bytes=10**6)
    # ...but a link to a sibling folder outside is refused before anything is written.
    with pytest.raises(ArchiveRejected):
        extract_archive(tar_with(tmp_path, link_member("d", ".."), file_member("d/x"), name="b.tar.gz"), tmp_path / "no", max_bytes=10**6)


def test_it_limits_the_unpacked_size(tmp_path):
    archive = tar_with(tmp_path, file_member("big", b"x" * 5000))
    with pytest.raises(ArchiveRejected, match="more than"):
        extract_archive(archive, tmp_path / "out", max_bytes=1000)


def test_it_unpacks_zip_and_rejects_zip_slip(tmp_path):
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as z:
        z.writestr("site/index.html", "zip")
    extract_archive(good, tmp_path / "out", max_bytes=10**6)
    assert (tmp_path / "out/index.html").read_text() == "zip"
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("../../evil.txt", "zip slip")
    with pytest.raises(ArchiveRejected, match="escapes its root"):
        extract_archive(bad, tmp_path / "out2", max_bytes=10**6)


def test_it_says_what_it_accepts(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(ArchiveRejected, match="not a .tar.gz, .tar or .zip"):
        extract_archive(junk, tmp_path / "out", max_bytes=10**6)
