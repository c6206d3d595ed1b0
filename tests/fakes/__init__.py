"""In-process fakes (TMDB, Plex, Jellyfin) serving real HTTP on 127.0.0.1 for the tests."""
