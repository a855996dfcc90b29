from __future__ import annotations

from hosting import images
from hosting.runtimes import CATALOG

CERT_A = "-----BEGIN CERTIFICATE-----\nAAAA\nBBBB\n-----END CERTIFICATE-----\n"
CERT_B = "-----BEGIN CERTIFICATE-----\nCCCC\n-----END CERTIFICATE-----\n"


def test_it_finds_only_the_certificates_debian_lacks(tmp_path, settings):
    bundle = tmp_path / "bundle.crt"
    bundle.write_text(CERT_A + CERT_B)
    settings.EXTRA_CA_CERTS = str(bundle)
    assert images.extra_ca_certificates(debian_bundle=CERT_A) == [CERT_B]
    assert images.extra_ca_certificates(debian_bundle=CERT_A + CERT_B) == []


def test_the_os_tag_changes_with_the_recipe_only():
    base = images.OsImageRecipe("trixie", "http://deb.debian.org/debian", ())
    assert base.tag == images.OsImageRecipe("trixie", "http://deb.debian.org/debian", ()).tag
    assert base.tag != images.OsImageRecipe("trixie", "http://deb.debian.org/debian", (CERT_A,)).tag
    assert base.tag != images.OsImageRecipe("forky", "http://deb.debian.org/debian", ()).tag


def test_a_runtime_tag_follows_its_os_image_and_files():
    python = CATALOG["python"]
    one = images.runtime_image_recipe(python, "hosting/os:1")
    assert one.tag == images.runtime_image_recipe(python, "hosting/os:1").tag
    assert one.tag != images.runtime_image_recipe(python, "hosting/os:2").tag
    changed = images.RuntimeImageRecipe(python, one.dockerfile, one.files + (("usr/local/bin/x", b"new", 0o755),))
    assert changed.tag != one.tag


def test_runtime_images_use_debian_packages_only_and_run_as_the_app_user():
    for runtime in CATALOG.values():
        dockerfile = images.runtime_dockerfile(runtime, "hosting/os:abc")
        assert dockerfile.startswith("FROM hosting/os:abc\n")
        assert dockerfile.count("FROM ") == 1
        run_lines = [line for line in dockerfile.splitlines() if line.startswith("RUN ")]
        assert "apt-get install" in run_lines[0]
        commands = [part.split()[0] for line in run_lines for part in line[4:].split("&&")]
        assert not set(commands) & {"curl", "wget", "pip", "pip3", "npm", "docker"}, commands
        assert f"USER {images.APP_UID}:{images.APP_UID}" in dockerfile
