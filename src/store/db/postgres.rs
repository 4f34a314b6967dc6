//! PostgreSQL through tokio-postgres: a pool of connections, each preparing its statements once.

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::*;

impl Query {
    pub(super) async fn on_postgres(
        &self,
        client: &deadpool_postgres::Client,
        want: Want,
    ) -> DbResult<(u64, Vec<Row>)> {
        // Queries assembled from filters come in many shapes: keep the cache to the common ones.
        if client.statement_cache.size() > MAX_CACHED_STATEMENTS {
            client.statement_cache.clear();
        }
        let statement = client.prepare_cached(&self.text).await?;
        let values: Vec<PgValue<'_>> = self.values.iter().map(PgValue).collect();
        let params: Vec<&(dyn ToSql + Sync)> =
            values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        if statement.columns().is_empty() || want == Want::Count {
            return Ok((client.execute(&statement, &params).await?, Vec::new()));
        }
        let columns: Arc<[String]> = statement
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        let rows = client.query(&statement, &params).await?;
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut cells = Vec::with_capacity(columns.len());
            for (i, column) in row.columns().iter().enumerate() {
                cells.push(pg_cell(row, i, column.type_())?);
            }
            found.push(Row {
                columns: columns.clone(),
                cells,
            });
        }
        Ok((found.len() as u64, found))
    }
}

const MAX_CACHED_STATEMENTS: usize = 512;

fn pg_cell(row: &tokio_postgres::Row, i: usize, ty: &Type) -> DbResult<Cell> {
    let cell = match *ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Cell::Int),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)?
            .map(|v| Cell::Int(v.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)?
            .map(|v| Cell::Int(v.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)?
            .map(|v| Cell::Int(v.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(Cell::Real),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
            row.try_get::<_, Option<String>>(i)?.map(Cell::Text)
        }
        ref other => return Err(DbError::Other(format!("unsupported column type {other}"))),
    };
    Ok(cell.unwrap_or(Cell::Null))
}

/// A value sent to PostgreSQL as the type the statement's parameter has.
#[derive(Debug)]
struct PgValue<'a>(&'a Value);

impl ToSql for PgValue<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Value::Int(None) | Value::Text(None) => Ok(IsNull::Yes),
            Value::Int(Some(v)) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                _ => v.to_string().to_sql(ty, out),
            },
            Value::Text(Some(v)) => v.as_str().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_RETRIES: u32 = 3;

/// A pool of connections to the server of `url`, checked reachable.
pub(super) async fn open(url: &str, options: &StoreOptions) -> Result<Database> {
    let mut config = tokio_postgres::Config::from_str(url)
        .map_err(|e| Error::Internal(format!("invalid database URL: {e}")))?;
    config
        .options(format!(
            "-c statement_timeout={}",
            options.statement_timeout.as_millis()
        ))
        .connect_timeout(options.connect_timeout)
        // A server or network that vanishes without a word is noticed within a
        // minute, not at the kernel's two hours.
        .keepalives(true)
        .keepalives_idle(KEEPALIVE_IDLE)
        .keepalives_interval(KEEPALIVE_INTERVAL)
        .keepalives_retries(KEEPALIVE_RETRIES)
        .tcp_user_timeout(KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_RETRIES);
    let manager = Manager::from_config(
        config,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = deadpool_postgres::Pool::builder(manager)
        .max_size(options.max_connections.max(1) as usize)
        .wait_timeout(Some(options.connect_timeout))
        .create_timeout(Some(options.connect_timeout))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| Error::Internal(e.to_string()))?;
    // Fail at start-up, not at the first request, when the server is unreachable.
    drop(pool.get().await.map_err(DbError::from_pool)?);
    Ok(Database::Postgres(pool))
}
