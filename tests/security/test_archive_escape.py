"""Attack: crafted source archives that try to write, link or read outside the site.

Each archive is uploaded through the API and deployed by the running platform. The archive is
unpacked inside a container as the site's uid, so the tricks below can reach nothing but that
container: the host sentinels they aim at keep their owner, mode, link count and content, nothing
new appears next to them, and no sentinel byte is ever served.
"""
from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from tests.integration.support.deploying import create_site, served
from tests.security.attacks import give_plan, platform_still_answers, upload


def _tar(entries: list[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]], mode: str = "w:gz", **kwargs) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode, **kwargs) as tar:
        for entry in entries:
            info, data = entry if isinstance(entry, tuple) else (entry, None)
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _link(name: str, target: str, hard: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = (tarfile.LNKTYPE if hard else tarfile.SYMTYPE), target
    return info


def _device(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
    return info


def crafted_tars(host: str, secret: str) -> dict[str, bytes]:
    """Each archive tries one way out; `host` is a host folder and `secret` a host file."""
    page = _file("index.html", b"the site's own page\n")
    return {
        "absolute symlink, then a write through it": _tar([page, _link("out", host), _file("out/pwned.txt", b"x")]),
        "symlink chain d -> . walked up to the host": _tar([
            page, _link("d", "."), _link("d/d/d/up", "../../../../../../../../.."),
            _file(f"d/d/d/up{host}/pwned.txt", b"x"),
        ]),
        "a link whose text stays inside while its path runs through a link": _tar([
            page, _link("inner", host), _link("safe", "inner/secret.txt"), _file("safe", b"overwrite"),
        ]),
        "a link re-pointed later in the same archive": _tar([
            page, _file("sub/keep.txt", b"ok"), _link("l", "sub"), _file("l/a.txt", b"inside"),
            _link("l", host), _file("l/pwned.txt", b"x"),
        ]),
        # Each link's text stays inside (`a` is `.`, so a/a/../.. is the root), but on disk `up`
        # ends up at / once re-pointed, and the hard link's path runs through it to the host file.
        "a link re-pointed through a d -> . chain, then a hard link through it": _tar([
            page, _link("a", "."), _file("real/keep.txt", b"ok"), _link("up", "real"),
            _file(f"up{secret}", b"decoy"), _link("up", "a/" * 16 + "../" * 16),
            _link("stolen.txt", f"up{secret}", hard=True),
        ]),
        "a hard link to a host file by absolute name": _tar([page, _link("stolen.txt", secret, hard=True)]),
        "a hard link through a symlinked folder": _tar([
            page, _link("hostdir", host), _link("stolen.txt", "hostdir/secret.txt", hard=True),
        ]),
        "dot-dot names": _tar([page, _file(f"../../../../../../..{host}/pwned.txt", b"x")]),
        "absolute names": _tar([page, _file(f"{host}/pwned.txt", b"x")]),
        "a device node": _tar([page, _device("dev-mem")]),
    }


def crafted_zip(host: str, secret: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", "the site's own page\n")
        link = zipfile.ZipInfo("out")
        link.external_attr = (0o120777 << 16)  # a symlink entry: its data is the target
        archive.writestr(link, host)
        archive.writestr("out/pwned.txt", "x")
        stolen = zipfile.ZipInfo("stolen.txt")
        stolen.external_attr = (0o120777 << 16)
        archive.writestr(stolen, secret)
        archive.writestr("../../../../../../../var/tmp/pwned-by-zip.txt", "x")
    return buffer.getvalue()


def _escapes(platform, customer, site, detail, sentinels, before) -> list[str]:
    """What the attack reached outside the tenant: changed sentinels, served host bytes."""
    found = []
    if sentinels.snapshot() != before:
        found.append("changed host sentinels")
    if detail["state"] == "succeeded":
        for path in ("/stolen.txt", "/safe", "/out/secret.txt", "/hostdir/secret.txt", "/inner/secret.txt"):
            if "host secret" in served(platform, site, path).text:
                found.append(f"served the host secret at {path}")
    else:
        assert detail["error"], detail
    platform_still_answers(platform, customer)
    return found


def test_it_contains_every_tar_trick_in_the_tenants_own_container(deploy_env, sentinels):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    give_plan(owner.organization)
    outcomes = {}
    for attack, data in crafted_tars(str(sentinels.folder), str(sentinels.secret)).items():
        site = create_site(deploy_env, "tar")
        before = sentinels.snapshot()
        detail = upload(platform, owner, site, "evil.tar.gz", data)
        outcomes[attack] = (detail["state"], _escapes(platform, owner, site, detail, sentinels, before))
    print("\n".join(f"{attack}: {state}, {escapes or 'contained'}" for attack, (state, escapes) in outcomes.items()))
    assert not [attack for attack, (_, escapes) in outcomes.items() if escapes], outcomes
    sentinels.assert_untouched()


def test_it_contains_zip_symlinks_and_escaping_names(deploy_env, sentinels):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    give_plan(owner.organization)
    site = create_site(deploy_env, "zip")
    before = sentinels.snapshot()
    detail = upload(platform, owner, site, "evil.zip", crafted_zip(str(sentinels.folder), str(sentinels.secret)))
    assert _escapes(platform, owner, site, detail, sentinels, before) == []
    sentinels.assert_untouched()
    from pathlib import Path

    assert not Path("/var/tmp/pwned-by-zip.txt").exists()


@pytest.mark.parametrize("bomb", ["a 192 MB zero-filled file (1000:1)", "a 64 MB pax header", "a 64 MB long name"])
def test_it_stops_decompression_and_header_bombs_at_the_plans_build_disk(deploy_env, sentinels, bomb):
    """The plan's build disk is 96 MB: the bomb fills at most that, in the tenant's own volume."""
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    give_plan(owner.organization)
    site = create_site(deploy_env, "bomb")
    if bomb.startswith("a 192 MB"):
        zeros = io.BytesIO()
        with tarfile.open(fileobj=zeros, mode="w:gz", compresslevel=9) as tar:
            info = tarfile.TarInfo("zeros.bin")
            info.size = 192 * 2**20
            tar.addfile(info, io.BytesIO(bytes(info.size)))
        data = zeros.getvalue()
        assert len(data) * 1000 < 192 * 2**20 * 1.1  # it really compresses about 1000:1
    elif bomb.startswith("a 64 MB pax"):
        data = _tar([_file("index.html", b"page\n")], format=tarfile.PAX_FORMAT,
                    pax_headers={"comment": "A" * (64 * 2**20)})
    else:
        data = _tar([_file("x" * (64 * 2**20), b"page\n")], format=tarfile.GNU_FORMAT)
    detail = upload(platform, owner, site, "bomb.tar.gz", data)
    if "zero-filled" in bomb:
        assert detail["state"] == "failed", detail["log"][-2000:]
        assert "does not fit in your plan's build disk (96 MB)" in detail["error"]
    else:  # unpacked (or refused) inside the container's own memory limit, whichever bsdtar does
        assert detail["state"] in ("failed", "succeeded"), detail
    sentinels.assert_untouched()
    platform_still_answers(platform, owner)
