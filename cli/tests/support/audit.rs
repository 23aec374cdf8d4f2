//! Tampering with local mode's audit log behind the API's back.

use std::path::Path;

/// Sets the detail of audit record `seq` to `detail` directly in the database in `data`, as an
/// intruder would (dropping the trigger that keeps the table append-only first).
pub async fn tamper_with_the_audit_log(data: &Path, seq: i64, detail: &str) {
    let database = format!("sqlite://{}", data.join("govcloud.db").display());
    let pool = sqlx::SqlitePool::connect(&database)
        .await
        .expect("open the database");
    sqlx::query("DROP TRIGGER audit_log_no_update")
        .execute(&pool)
        .await
        .expect("drop the guard");
    sqlx::query("UPDATE audit_log SET detail = ? WHERE seq = ?")
        .bind(detail)
        .bind(seq)
        .execute(&pool)
        .await
        .expect("tamper");
    pool.close().await;
}
