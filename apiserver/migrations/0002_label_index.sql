-- Objects get a stable integer id, which the label index refers to (an implicit rowid may be
-- renumbered by VACUUM).
CREATE TABLE objects_with_id (
    id INTEGER PRIMARY KEY,
    resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    uid TEXT NOT NULL, rv INTEGER NOT NULL, body TEXT NOT NULL,
    UNIQUE (resource, namespace, name));
INSERT INTO objects_with_id (resource, namespace, name, uid, rv, body)
    SELECT resource, namespace, name, uid, rv, body FROM objects
    ORDER BY resource, namespace, name;
DROP TABLE objects;
ALTER TABLE objects_with_id RENAME TO objects;
CREATE INDEX objects_by_uid ON objects (uid);
CREATE INDEX objects_by_namespace ON objects (namespace);

-- One row per label of every object, written in the transaction that writes the object, so
-- that label selectors are answered from an index. A value that is not a string is stored as
-- the empty string, as the selector sees it.
CREATE TABLE labels (
    object INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (object, key)) WITHOUT ROWID;
CREATE INDEX labels_by_value ON labels (key, value);
INSERT INTO labels (object, key, value)
    SELECT o.id, l.key, CASE l.type WHEN 'text' THEN l.value ELSE '' END
    FROM objects o, json_each(o.body, '$.metadata.labels') l
    WHERE json_type(o.body, '$.metadata.labels') = 'object';
