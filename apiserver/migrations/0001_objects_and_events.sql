-- The first schema: objects by resource, namespace and name, the event log, and the counter
-- of resource versions. Databases created before migrations existed already have these
-- tables, hence IF NOT EXISTS.
CREATE TABLE IF NOT EXISTS objects (
    resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    uid TEXT NOT NULL, rv INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (resource, namespace, name));
CREATE INDEX IF NOT EXISTS objects_by_uid ON objects (uid);
CREATE INDEX IF NOT EXISTS objects_by_namespace ON objects (namespace);
CREATE TABLE IF NOT EXISTS events (
    rv INTEGER PRIMARY KEY, resource TEXT NOT NULL, namespace TEXT NOT NULL,
    name TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_key ON events (resource, namespace, name, rv);
CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY CHECK (id = 1), rv INTEGER NOT NULL);
INSERT OR IGNORE INTO counter (id, rv) VALUES (1, 0);
