//! The audit hash chain, pure: canonical record encoding, record hashes and chain verification.
//!
//! `hash = SHA-256(canonical(seq, at, actor, tenant, action, object_kind, object_name, detail,
//! prev_hash))` in lowercase hex; the first record's `prev_hash` is [`GENESIS_HASH`]. The
//! canonical encoding is a version line, then one line per field in that order:
//! `name=-` for an absent value, else `name=<byte length>:<value>`; `at` is RFC 3339 UTC with
//! exactly six fractional digits. Length prefixes make the encoding unambiguous.

use std::fmt;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const ENCODING_VERSION: &str = "govcloud-audit-v1\n";

/// One audit record as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRecord {
    /// Position in the log: 1, 2, 3, … without gaps.
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// Who acted: a user, a token's tenant/role, or a controller.
    pub actor: String,
    pub tenant: Option<String>,
    pub action: String,
    pub object_kind: String,
    pub object_name: String,
    /// The JSON text exactly as hashed.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRecord {
    /// The canonical bytes the hash covers (every field but `hash`).
    pub fn canonical_encoding(&self) -> Vec<u8> {
        let seq = self.seq.to_string();
        let at = self.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        let fields: [(&str, Option<&str>); 9] = [
            ("seq", Some(&seq)),
            ("at", Some(&at)),
            ("actor", Some(&self.actor)),
            ("tenant", self.tenant.as_deref()),
            ("action", Some(&self.action)),
            ("object_kind", Some(&self.object_kind)),
            ("object_name", Some(&self.object_name)),
            ("detail", Some(&self.detail)),
            ("prev_hash", Some(&self.prev_hash)),
        ];
        let mut out = Vec::with_capacity(256 + self.detail.len());
        out.extend_from_slice(ENCODING_VERSION.as_bytes());
        for (name, value) in fields {
            out.extend_from_slice(name.as_bytes());
            out.push(b'=');
            match value {
                None => out.push(b'-'),
                Some(value) => {
                    out.extend_from_slice(value.len().to_string().as_bytes());
                    out.push(b':');
                    out.extend_from_slice(value.as_bytes());
                }
            }
            out.push(b'\n');
        }
        out
    }

    /// The hash this record should carry.
    pub fn compute_hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical_encoding()))
    }

    /// This record with `hash` set from its content.
    #[must_use]
    pub fn sealed(mut self) -> Self {
        self.hash = self.compute_hash();
        self
    }
}

/// The first place a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// Record `seq` is absent (deleted): a later record follows its predecessor.
    Missing { seq: i64 },
    /// Record `seq`'s content does not match its hash (edited).
    HashMismatch { seq: i64 },
    /// Record `seq` does not carry its predecessor's hash (the predecessor was edited and
    /// re-hashed, or records were replaced).
    PrevHashMismatch { seq: i64 },
    /// Record `seq` repeats or goes back in the sequence.
    OutOfOrder { seq: i64 },
}

impl ChainBreak {
    /// The sequence number of the first broken record.
    pub fn seq(&self) -> i64 {
        match *self {
            Self::Missing { seq }
            | Self::HashMismatch { seq }
            | Self::PrevHashMismatch { seq }
            | Self::OutOfOrder { seq } => seq,
        }
    }
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { seq } => write!(f, "audit record {seq} is missing (deleted)"),
            Self::HashMismatch { seq } => {
                write!(f, "audit record {seq} does not match its hash (edited)")
            }
            Self::PrevHashMismatch { seq } => write!(
                f,
                "audit record {seq} does not carry the hash of record {}",
                seq - 1
            ),
            Self::OutOfOrder { seq } => write!(f, "audit record {seq} is out of sequence"),
        }
    }
}

/// The result of walking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainStatus {
    /// Every record checks out; `head_hash` is the last record's hash (or [`GENESIS_HASH`]).
    Intact {
        records: u64,
        last_seq: i64,
        head_hash: String,
    },
    /// The chain is broken; this is the first break.
    Broken(ChainBreak),
}

/// Checks records one at a time, in `seq` order, so a long log can be verified page by page.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    records: u64,
    last_seq: i64,
    prev_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            records: 0,
            last_seq: 0,
            prev_hash: GENESIS_HASH.to_owned(),
        }
    }
}

impl ChainVerifier {
    /// Checks the next record against the ones before it.
    pub fn push(&mut self, record: &AuditRecord) -> Result<(), ChainBreak> {
        let expected = self.last_seq + 1;
        if record.seq > expected {
            return Err(ChainBreak::Missing { seq: expected });
        }
        if record.seq < expected {
            return Err(ChainBreak::OutOfOrder { seq: record.seq });
        }
        if record.compute_hash() != record.hash {
            return Err(ChainBreak::HashMismatch { seq: record.seq });
        }
        if record.prev_hash != self.prev_hash {
            return Err(ChainBreak::PrevHashMismatch { seq: record.seq });
        }
        self.records += 1;
        self.last_seq = record.seq;
        self.prev_hash.clone_from(&record.hash);
        Ok(())
    }

    /// The status of a chain whose records were all pushed without a break.
    pub fn finish(self) -> ChainStatus {
        ChainStatus::Intact {
            records: self.records,
            last_seq: self.last_seq,
            head_hash: self.prev_hash,
        }
    }
}

/// Verifies a whole chain held in memory, in `seq` order.
pub fn verify_chain<'a>(records: impl IntoIterator<Item = &'a AuditRecord>) -> ChainStatus {
    let mut verifier = ChainVerifier::default();
    for record in records {
        if let Err(broken) = verifier.push(record) {
            return ChainStatus::Broken(broken);
        }
    }
    verifier.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::{AuditRecord, ChainBreak, ChainStatus, GENESIS_HASH, verify_chain};

    fn chain(len: i64) -> Vec<AuditRecord> {
        let mut records: Vec<AuditRecord> = Vec::new();
        for seq in 1..=len {
            let prev_hash = records
                .last()
                .map_or(GENESIS_HASH.to_owned(), |r| r.hash.clone());
            let record = AuditRecord {
                seq,
                at: Utc.timestamp_opt(1_700_000_000 + seq, 123_456_000).unwrap(),
                actor: "operations".to_owned(),
                tenant: (seq % 2 == 0).then(|| "hanbin".to_owned()),
                action: "approve".to_owned(),
                object_kind: "QuotaRequest".to_owned(),
                object_name: format!("req-{seq}"),
                detail: format!(r#"{{"cpu":{seq}}}"#),
                prev_hash,
                hash: String::new(),
            };
            records.push(record.sealed());
        }
        records
    }

    #[test]
    fn canonical_encoding_is_stable() {
        let record = &chain(1)[0];
        let text = String::from_utf8(record.canonical_encoding()).unwrap();
        assert_eq!(
            text,
            "govcloud-audit-v1\nseq=1:1\nat=27:2023-11-14T22:13:21.123456Z\nactor=10:operations\n\
             tenant=-\naction=7:approve\nobject_kind=12:QuotaRequest\nobject_name=5:req-1\n\
             detail=9:{\"cpu\":1}\nprev_hash=64:"
                .to_owned()
                + GENESIS_HASH
                + "\n"
        );
        assert_eq!(record.hash.len(), 64);
        assert_eq!(record.hash, record.compute_hash());
    }

    #[test]
    fn absent_and_empty_tenant_hash_differently() {
        let mut record = chain(1).remove(0);
        let absent = record.compute_hash();
        record.tenant = Some(String::new());
        assert_ne!(record.compute_hash(), absent);
    }

    #[test]
    fn intact_chain_verifies() {
        let records = chain(5);
        assert_eq!(
            verify_chain(&records),
            ChainStatus::Intact {
                records: 5,
                last_seq: 5,
                head_hash: records[4].hash.clone()
            }
        );
        assert_eq!(
            verify_chain(&[]),
            ChainStatus::Intact {
                records: 0,
                last_seq: 0,
                head_hash: GENESIS_HASH.to_owned()
            }
        );
    }

    #[test]
    fn edited_record_is_reported() {
        let mut records = chain(5);
        records[2].detail = r#"{"cpu":300}"#.to_owned();
        assert_eq!(
            verify_chain(&records),
            ChainStatus::Broken(ChainBreak::HashMismatch { seq: 3 })
        );
    }

    #[test]
    fn edited_and_rehashed_record_breaks_the_next_link() {
        let mut records = chain(5);
        records[2].actor = "intruder".to_owned();
        records[2] = records[2].clone().sealed();
        assert_eq!(
            verify_chain(&records),
            ChainStatus::Broken(ChainBreak::PrevHashMismatch { seq: 4 })
        );
    }

    #[test]
    fn deleted_records_are_reported_by_seq() {
        let mut records = chain(5);
        records.remove(2);
        let broken = verify_chain(&records);
        assert_eq!(broken, ChainStatus::Broken(ChainBreak::Missing { seq: 3 }));
        let mut records = chain(5);
        records.remove(0);
        assert_eq!(
            verify_chain(&records),
            ChainStatus::Broken(ChainBreak::Missing { seq: 1 })
        );
    }

    #[test]
    fn duplicated_record_is_out_of_order() {
        let mut records = chain(3);
        records.insert(2, records[1].clone());
        assert_eq!(
            verify_chain(&records),
            ChainStatus::Broken(ChainBreak::OutOfOrder { seq: 2 })
        );
        assert_eq!(ChainBreak::OutOfOrder { seq: 2 }.seq(), 2);
        assert_eq!(
            ChainBreak::Missing { seq: 3 }.to_string(),
            "audit record 3 is missing (deleted)"
        );
    }
}
