"""What each server process keeps between requests: one object, made when the app is."""

from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import create_engine

from platesvc.maps.tiles import TileCache
from platesvc.reference.snapshot import ReferenceCache
from platesvc.scan.counts import ScanCounter
from platesvc.search.cache import AnswerCache
from platesvc.store.database import REPLICA_CONNECT_TIMEOUT, db, engine_options
from platesvc.store.replicas import ReadRouter, replica_urls
from platesvc.web.caching import RenderCache


@dataclass
class Worker:
    reads: ReadRouter  # where public reads go: a healthy replica, else the primary
    scans: ScanCounter  # scans counted here, written every few seconds
    references: ReferenceCache  # the reference snapshot, read again when it has moved
    renders: RenderCache  # finished plate pages and JSON, within a byte budget
    tiles: TileCache  # finished vector tiles, within a byte budget
    searches: AnswerCache  # finished search answers, within a byte budget

    @classmethod
    def for_app(cls, app: Flask) -> "Worker":
        config = app.config
        with app.app_context():
            primary = db.engine
        replicas = [create_engine(url, **engine_options(url, connect_timeout=REPLICA_CONNECT_TIMEOUT))
                    for url in replica_urls(config["DATABASE_REPLICA_URLS"])]
        return cls(reads=ReadRouter(primary, replicas, config["REPLICA_MAX_LAG_SECONDS"],
                                    config["REPLICA_CHECK_SECONDS"]),
                   scans=ScanCounter(primary, config["TIMEZONE"], config["SCAN_FLUSH_SECONDS"]),
                   references=ReferenceCache(),
                   renders=RenderCache(int(config["RENDER_CACHE_MB"] * 2 ** 20)),
                   tiles=TileCache(int(config["TILE_CACHE_MB"] * 2 ** 20)),
                   searches=AnswerCache(int(config["SEARCH_CACHE_MB"] * 2 ** 20)))


def worker() -> Worker:
    """This process's worker state, for the app handling the request."""
    return current_app.extensions["platesvc"]
