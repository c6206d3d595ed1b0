"""Where a fake TMDB answers: one definition of its URLs for the server and its remote control."""

from __future__ import annotations

HOST = "127.0.0.1"


class TmdbAddress:
    """The URLs of a fake TMDB listening on ``HOST:_port`` (the subclass sets ``_port``)."""

    _port: int

    @property
    def port(self) -> int:
        return self._port

    @property
    def root_url(self) -> str:
        return f"http://{HOST}:{self._port}"

    @property
    def url(self) -> str:
        """The API base URL, the value for SCANARR_TMDB_API_URL."""
        return f"{self.root_url}/3"

    @property
    def image_url(self) -> str:
        return f"{self.root_url}/t/p/"
