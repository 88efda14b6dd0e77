"""Every error vidsr raises on purpose. Anything else escaping to the CLI is a vidsr bug.

    VidsrError
    ├── InputError                 the input cannot be used (the message names the file)
    │   ├── InputNotFound          (also a FileNotFoundError)
    │   ├── NotAVideo              no decodable video stream: text, image, audio-only, 0 frames
    │   ├── CorruptInput           truncated or damaged beyond what decoding can skip
    │   └── UnsupportedInput       a real video vidsr does not handle (the message says why)
    ├── OutputError                the output cannot be written (exists, read-only, disk full, …)
    ├── ConfigError                a bad option or config file (also a ValueError)
    ├── ModelError                 shipped weights missing or failing their hash check
    ├── BackendUnavailable         an inference backend this machine lacks; says what to install
    ├── EngineError                a TensorRT engine failed to build, load or verify
    ├── StreamError                a live source never came up or a sink failed
    └── ClusterError               Ray is missing, the cluster is unreachable, or it lost a segment
"""

from __future__ import annotations


class VidsrError(Exception):
    """Base class: the CLI prints `error: <message>` and exits with `exit_code`.

    `option` names the setting (a `vidsr.config.Options` field) that would fix the problem; the
    message speaks to Python callers, and the CLI adds the flag to use.
    """

    exit_code = 1

    def __init__(self, message: str = "", *, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


class InputError(VidsrError):
    """The input cannot be processed."""

    exit_code = 2


class InputNotFound(InputError, FileNotFoundError):
    """The input path does not exist."""


class NotAVideo(InputError, ValueError):
    """The input has no decodable video stream."""


class CorruptInput(InputError, ValueError):
    """The input is damaged beyond what decoding can skip."""


class UnsupportedInput(InputError, ValueError):
    """A valid video that vidsr does not handle."""


class OutputError(VidsrError):
    """The output cannot be written."""

    exit_code = 3


class ConfigError(VidsrError, ValueError):
    """A bad option value or config file."""

    exit_code = 2


class ModelError(VidsrError):
    """Shipped weights are missing or fail their hash check."""


class BackendUnavailable(VidsrError):
    """The requested inference backend cannot run on this machine."""


class EngineError(VidsrError):
    """A TensorRT engine failed to build, load or verify."""


class StreamError(VidsrError):
    """A live source never came up, or a live sink failed."""


class ClusterError(VidsrError):
    """Ray is not installed, the cluster cannot be reached, or a segment's workers kept dying."""
