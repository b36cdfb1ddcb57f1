"""Dữ liệu học bạ cho CSDL ngành: the school's sealed year records in the national sector
database's structure, as XML and JSON, each checked against its schema in `structure/` before it
leaves the service; full or only what changed since a given export."""
