-- govcloud storage, version 6 (SQLite). Kept in step with ../postgres/0006_drop_unused_tables.sql.

-- Tables created ahead of the capabilities that would use them (quota reviews, disaster-recovery
-- drills, provincial reporting) and never written: each capability adds the tables it needs when
-- it is built (docs/adr/0015-core-crate-and-capability-layout.md).
DROP TABLE review_decisions;
DROP TABLE review_runs;
DROP TABLE drill_evidence;
DROP TABLE provincial_outbox;
