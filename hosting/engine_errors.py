"""Docker's errors as ours: whose fault (the customer's, the platform's, or passing) and what a
person can do about it."""
from __future__ import annotations

import docker.errors
import requests.exceptions

from core.errors import PlatformError, TransientError


class DockerUnavailable(TransientError):
    """The Docker daemon does not answer (not started, restarting, or the socket is wrong)."""


class ImageMissing(PlatformError):
    pass


class PortInUse(TransientError):
    pass


class ContainerNotFound(PlatformError):
    pass


def translate(exc: Exception, doing: str) -> Exception:
    """The error to raise for `exc`, which Docker's SDK raised while `doing` something."""
    if isinstance(exc, docker.errors.ImageNotFound):
        return ImageMissing(f"{doing}: the image is missing on this host; run `python manage.py build_images`.")
    if isinstance(exc, docker.errors.NotFound):
        return ContainerNotFound(f"{doing}: {exc.explanation or exc}")
    if isinstance(exc, docker.errors.APIError):
        text = str(exc.explanation or exc)
        if "port is already allocated" in text or "address already in use" in text:
            return PortInUse(f"{doing}: the host port is taken by something else ({text}).")
        if exc.status_code and exc.status_code >= 500:
            return PlatformError(f"{doing}: the Docker daemon failed: {text}")
        return PlatformError(f"{doing}: Docker refused the request: {text}")
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout, docker.errors.DockerException)):
        return DockerUnavailable(f"{doing}: the Docker daemon does not answer ({exc}).")
    return exc
