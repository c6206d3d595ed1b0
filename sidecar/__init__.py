"""Scanarr: TMDB metadata beside every movie and episode, for Plex and Jellyfin."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scanarr")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
