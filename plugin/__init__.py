"""Host adapters: one module per media server, the only place host APIs are spoken.

Each module exposes ``create(**settings)`` returning an object that satisfies
``sidecar.host.Host``; ``sidecar.host.load_host(name)`` imports them by name.
"""
