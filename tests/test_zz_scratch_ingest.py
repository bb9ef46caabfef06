from __future__ import annotations

import threading
import httpx
from tests.catalog_support import CatalogServer, catalog_server  # noqa: F401
from tests.test_ingest_api import upload, csv_rows, warehouse_files


def test_x(catalog_server: CatalogServer) -> None:
    world = catalog_server.world
    rest = catalog_server.pyiceberg("ws_editor")
    rest.create_namespace("alpha.raw")
    with httpx.Client(base_url=catalog_server.base_url, timeout=60) as client:
        r = upload(client, world, "t", csv_rows(1, 3), namespace="alpha.raw")
        print(r.status_code, r.text)
    t = rest.load_table("alpha.raw.t")
    print(t.location(), t.scan().to_arrow().num_rows)
    before = warehouse_files(catalog_server.settings)
    results = []
    barrier = threading.Barrier(2)
    def go(i):
        with httpx.Client(base_url=catalog_server.base_url, timeout=60) as client:
            barrier.wait()
            results.append(upload(client, world, "race", csv_rows(i * 100, 50000)))
    ths = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    [t.start() for t in ths]; [t.join() for t in ths]
    for r in results:
        print(r.status_code, r.text[:300])
    after = warehouse_files(catalog_server.settings)
    for p in sorted(after - before):
        print(p)
