"""The one OS image and the runtime images, built from recipes and tagged by their content hash.

The OS image is Debian 13 (trixie) minbase made with debootstrap and imported into Docker; no
image is ever pulled. The operator's extra CA certificates are installed into it after the
ca-certificates package, so builds reach package registries behind a TLS-inspecting proxy.
Runtime images are built FROM it with Debian packages only. A recipe that did not change is not
rebuilt: its tag already exists.
"""
from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from django.conf import settings

from hosting.engine import ContainerEngine
from core.errors import PlatformError
from hosting.runtimes import CATALOG, Runtime

RUNTIME_FILES = Path(__file__).resolve().parent / "runtime_files"
# The platform's own scripts in every image (unpacking sources and slugs as the site's uid).
OS_FILES = Path(__file__).resolve().parent / "os_files"
PLATFORM_SCRIPTS = "/usr/local/lib/hosting"
# Debian packages the OS image gets besides minbase: bsdtar unpacks tar and zip inside containers.
OS_PACKAGES = ("ca-certificates", "libarchive-tools")
# Bump when the way images are made changes in a way the recipe text does not show.
RECIPE_VERSION = "2"
# The image's default user; every site container runs as its site's own uid instead (Site.uid).
APP_UID = 10000

PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)

Progress = Callable[[str], None]


def pem_certificates(text: str) -> list[str]:
    return [" ".join(block.split()) for block in PEM_BLOCK.findall(text)]


def extra_ca_certificates(debian_bundle: str) -> list[str]:
    """The PEM certificates of EXTRA_CA_CERTS that Debian's own bundle lacks.

    By default EXTRA_CA_CERTS is the host's bundle: where it equals Debian's, nothing is added.
    """
    path = Path(settings.EXTRA_CA_CERTS)
    if not path.exists():
        return []
    known = {pem for pem in pem_certificates(debian_bundle)}
    extras = []
    for block in PEM_BLOCK.findall(path.read_text(errors="replace")):
        if " ".join(block.split()) not in known:
            extras.append(block.strip() + "\n")
    return extras


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class OsImageRecipe:
    suite: str
    mirror: str
    extra_certificates: tuple[str, ...]

    @property
    def tag(self) -> str:
        files = [f"{name}:{mode}:{hashlib.sha256(data).hexdigest()}" for name, data, mode in _os_files()]
        digest = _digest(RECIPE_VERSION, self.suite, self.mirror, str(APP_UID), *OS_PACKAGES, *files,
                         *self.extra_certificates)
        return f"{settings.IMAGE_PREFIX}/os:{digest}"


def os_image_recipe() -> OsImageRecipe:
    # Debian's bundle is what ca-certificates generates: read it from the host's package list if
    # the host runs Debian, else treat every certificate of EXTRA_CA_CERTS as extra (harmless).
    debian_bundle = _debian_bundle_without_local_additions()
    return OsImageRecipe(
        suite=settings.OS_IMAGE_SUITE,
        mirror=settings.DEBIAN_MIRROR,
        extra_certificates=tuple(extra_ca_certificates(debian_bundle)),
    )


def _debian_bundle_without_local_additions() -> str:
    """The certificates Debian's ca-certificates package ships (/usr/share/ca-certificates)."""
    shipped = Path("/usr/share/ca-certificates/mozilla")
    if not shipped.is_dir():
        return ""
    return "".join(p.read_text(errors="replace") for p in sorted(shipped.glob("*.crt")))


def runtime_dockerfile(runtime: Runtime, os_tag: str) -> str:
    lines = [
        f"FROM {os_tag}",
        "ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8",
        "RUN apt-get update -q && apt-get install -y -q --no-install-recommends "
        + " ".join(runtime.packages)
        + " && apt-get clean && rm -rf /var/lib/apt/lists/*"
        # Packages may regenerate the bundle; our extra CAs in /usr/local/share survive it.
        + " && update-ca-certificates >/dev/null",
        "COPY files/ /",
    ]
    lines += [f"RUN {step}" for step in runtime.setup]
    lines += [f'ENV {key}="{value}"' for key, value in runtime.env]
    lines += [
        f'LABEL hosting.runtime="{runtime.name}" hosting.version="{runtime.version}"',
        f"USER {APP_UID}:{APP_UID}",
        "WORKDIR /app",
    ]
    return "\n".join(lines) + "\n"


def _os_files() -> list[tuple[str, bytes, int]]:
    return _files_under(OS_FILES)


def _runtime_files(runtime: Runtime) -> list[tuple[str, bytes, int]]:
    return _files_under(RUNTIME_FILES / runtime.name)


def _files_under(root: Path) -> list[tuple[str, bytes, int]]:
    files = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            files.append((str(path.relative_to(root)), path.read_bytes(), path.stat().st_mode & 0o777))
    return files


@dataclass(frozen=True)
class RuntimeImageRecipe:
    runtime: Runtime
    dockerfile: str
    files: tuple[tuple[str, bytes, int], ...]

    @property
    def tag(self) -> str:
        file_digests = [f"{name}:{mode}:{hashlib.sha256(data).hexdigest()}" for name, data, mode in self.files]
        return f"{settings.IMAGE_PREFIX}/runtime-{self.runtime.name}:{_digest(self.dockerfile, *file_digests)}"

    def context(self) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for name, data, mode in (("Dockerfile", self.dockerfile.encode(), 0o644),) + tuple(
                (f"files/{n}", d, m) for n, d, m in self.files
            ):
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), mode, 0
                tar.addfile(info, io.BytesIO(data))
        return buffer.getvalue()


def runtime_image_recipe(runtime: Runtime, os_tag: str) -> RuntimeImageRecipe:
    return RuntimeImageRecipe(runtime, runtime_dockerfile(runtime, os_tag), tuple(_runtime_files(runtime)))


def os_image() -> str:
    """The tag of the current OS image: one-off platform steps (unpacking a source) run on it."""
    return os_image_recipe().tag


def runtime_image(runtime_name: str) -> str:
    """The tag of a runtime's current image (built or not)."""
    return runtime_image_recipe(CATALOG[runtime_name], os_image_recipe().tag).tag


def _run(command: list[str], progress: Progress, what: str, interesting: re.Pattern | None = None) -> None:
    """Run a build step, passing its notable output lines to `progress`."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail: list[str] = []
    seen_phases: set[str] = set()
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip()
        tail = (tail + [line])[-20:]
        if interesting is None:
            continue
        match = interesting.match(line)
        if match and match.group(1) not in seen_phases:
            seen_phases.add(match.group(1))
            progress(f"  {line}")
    if process.wait() != 0:
        raise PlatformError(f"{what} failed: " + " | ".join(tail[-5:]))


DEBOOTSTRAP_PHASES = re.compile(r"I: (Retrieving|Validating|Checking|Extracting|Installing|Unpacking|Configuring|Base system installed)")


def build_os_image(recipe: OsImageRecipe, engine: ContainerEngine, progress: Progress) -> None:
    if shutil.which("debootstrap") is None:
        raise PlatformError("debootstrap is not installed; run `make run` to install it.")
    work_parent = Path(settings.DATA_DIR) / "build"
    work_parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_parent, prefix="os-") as work:
        rootfs = Path(work) / "rootfs"
        progress(f"debootstrap --variant=minbase {recipe.suite} from {recipe.mirror} (about a minute)")
        _run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(OS_PACKAGES)}", recipe.suite, str(rootfs),
             recipe.mirror],
            progress, "debootstrap", DEBOOTSTRAP_PHASES,
        )
        if recipe.extra_certificates:
            progress(f"installing {len(recipe.extra_certificates)} extra CA certificate(s)")
            target = rootfs / "usr/local/share/ca-certificates"
            target.mkdir(parents=True, exist_ok=True)
            for number, pem in enumerate(recipe.extra_certificates):
                (target / f"hosting-extra-{number:03d}.crt").write_text(pem)
            _run(["chroot", str(rootfs), "update-ca-certificates"], progress, "update-ca-certificates")
        _run(
            ["chroot", str(rootfs), "useradd", "--uid", str(APP_UID), "--user-group", "--no-create-home",
             "--home-dir", "/tmp", "--shell", "/bin/sh", "app"],
            progress, "adding the app user",
        )
        for name, data, mode in _os_files():
            target = rootfs / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            target.chmod(mode)
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (rootfs / leftover).glob("*"):
                if item.is_file():
                    item.unlink()
        tarball = Path(work) / "rootfs.tar"
        progress("importing the root filesystem into Docker")
        _run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."], progress, "tar of the rootfs")
        engine.import_image(tarball, recipe.tag, changes=['ENV LANG=C.UTF-8', 'CMD ["/bin/bash"]'])


def build_runtime_image(recipe: RuntimeImageRecipe, engine: ContainerEngine, progress: Progress) -> None:
    progress(f"building {recipe.tag} ({', '.join(recipe.runtime.packages)})")
    engine.build_image(recipe.context(), recipe.tag, on_line=lambda line: _build_progress(line, progress))


def _build_progress(line: str, progress: Progress) -> None:
    if line.startswith("Step "):
        progress(f"  {line[:150]}")


@dataclass(frozen=True)
class BuildReport:
    built: list[str]
    up_to_date: list[str]


def build_images(engine: ContainerEngine, progress: Progress, runtimes: list[str] | None = None) -> BuildReport:
    """Build the OS image and the runtime images whose recipe changed; idempotent."""
    built, up_to_date = [], []
    os_recipe = os_image_recipe()
    if engine.image_exists(os_recipe.tag):
        up_to_date.append(os_recipe.tag)
    else:
        progress(f"OS image {os_recipe.tag}: building")
        build_os_image(os_recipe, engine, progress)
        built.append(os_recipe.tag)
    for name in runtimes or list(CATALOG):
        recipe = runtime_image_recipe(CATALOG[name], os_recipe.tag)
        if engine.image_exists(recipe.tag):
            up_to_date.append(recipe.tag)
            continue
        progress(f"runtime {name} {recipe.tag}: building")
        build_runtime_image(recipe, engine, progress)
        built.append(recipe.tag)
    return BuildReport(built, up_to_date)
