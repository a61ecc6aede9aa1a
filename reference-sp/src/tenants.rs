//! Organizations (tenants) and their bearer tokens.
//!
//! Tokens are random, shown once, and stored only as SHA-256 digests. The digests of all
//! current tokens are also kept in memory ([`TokenIndex`]) so that authenticating a request
//! costs no database round trip.

use crate::error::SpError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use sqlx::Row as _;
use sqlx::sqlite::SqlitePool;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use subtle::ConstantTimeEq as _;

/// The id of the organization the SP creates for itself; `idpsim sp --token` belongs to it.
pub const DEFAULT_ORGANIZATION_ID: &str = "default";
/// The `deletion_policy` value under which DELETE deactivates a user.
pub(crate) const DEACTIVATE_POLICY: &str = "deactivate";
const DELETE_POLICY: &str = "delete";

/// An organization the SP serves, with a read-write token just issued for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// The organization's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// A read-write bearer token for its SCIM API (shown once).
    pub token: String,
}

/// What a token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRole {
    /// Every SCIM operation.
    ReadWrite,
    /// GET and searches only; writes are refused with 403.
    ReadOnly,
}

impl TokenRole {
    fn as_str(self) -> &'static str {
        match self {
            TokenRole::ReadWrite => "read-write",
            TokenRole::ReadOnly => "read-only",
        }
    }

    fn from_stored(text: &str) -> TokenRole {
        if text == TokenRole::ReadOnly.as_str() {
            TokenRole::ReadOnly
        } else {
            TokenRole::ReadWrite
        }
    }
}

/// What `DELETE /Users/{id}` does in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionPolicy {
    /// The user is deleted (RFC 7644 §3.6).
    Delete,
    /// The user is kept with `active: false`, as apps that must keep audit history do.
    Deactivate,
}

impl DeletionPolicy {
    fn as_str(self) -> &'static str {
        match self {
            DeletionPolicy::Delete => DELETE_POLICY,
            DeletionPolicy::Deactivate => DEACTIVATE_POLICY,
        }
    }
}

/// Who a valid token speaks for.
#[derive(Debug, Clone)]
pub(crate) struct TokenGrant {
    pub(crate) organization_id: Arc<str>,
    pub(crate) role: TokenRole,
}

type TokenDigest = [u8; 32];

fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

fn new_token() -> String {
    format!(
        "scim_{}",
        URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
    )
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The digests of every current token, in memory.
#[derive(Debug, Default)]
pub(crate) struct TokenIndex {
    grants: RwLock<HashMap<TokenDigest, TokenGrant>>,
}

impl TokenIndex {
    /// Who `token` speaks for, if it is current.
    ///
    /// The lookup is keyed by the token's SHA-256 digest, so its timing depends on the digest,
    /// which a caller cannot steer towards a stored one; the final comparison of the digests
    /// is constant-time as well.
    pub(crate) fn authenticate(&self, token: &str) -> Option<TokenGrant> {
        let wanted = digest(token);
        let grants = self.grants.read().unwrap_or_else(PoisonError::into_inner);
        grants
            .get_key_value(&wanted)
            .filter(|(stored, _)| bool::from(stored.ct_eq(&wanted)))
            .map(|(_, grant)| grant.clone())
    }

    fn insert(&self, token_digest: TokenDigest, grant: TokenGrant) {
        let mut grants = self.grants.write().unwrap_or_else(PoisonError::into_inner);
        grants.insert(token_digest, grant);
    }

    fn remove(&self, token_digest: &TokenDigest) {
        let mut grants = self.grants.write().unwrap_or_else(PoisonError::into_inner);
        grants.remove(token_digest);
    }
}

/// Administration of organizations and tokens.
#[derive(Debug, Clone)]
pub(crate) struct Tenants {
    pool: SqlitePool,
    index: Arc<TokenIndex>,
}

impl Tenants {
    /// Loads the current tokens into a fresh index.
    pub(crate) async fn load(pool: SqlitePool) -> Result<Tenants, SpError> {
        let index = TokenIndex::default();
        let rows = sqlx::query("SELECT digest, organization_id, role FROM tokens")
            .fetch_all(&pool)
            .await?;
        for row in rows {
            let stored: Vec<u8> = row.try_get("digest")?;
            let Ok(token_digest) = TokenDigest::try_from(stored.as_slice()) else {
                tracing::warn!("ignoring a stored token digest of the wrong length");
                continue;
            };
            let organization_id: String = row.try_get("organization_id")?;
            let role: String = row.try_get("role")?;
            index.insert(
                token_digest,
                TokenGrant {
                    organization_id: organization_id.into(),
                    role: TokenRole::from_stored(&role),
                },
            );
        }
        Ok(Tenants {
            pool,
            index: Arc::new(index),
        })
    }

    /// The in-memory token index the HTTP layer authenticates against.
    pub(crate) fn index(&self) -> Arc<TokenIndex> {
        Arc::clone(&self.index)
    }

    /// Creates the default organization if it is missing and makes `bootstrap` (or a new
    /// token, when none is given) its bootstrap token: read-write, and the only bootstrap
    /// token, so that the one the SP was last started with works and the one before does not
    /// (tokens issued through the admin API stay). A token of another organization is refused.
    pub(crate) async fn prepare_default_organization(
        &self,
        bootstrap: Option<&str>,
    ) -> Result<String, SpError> {
        sqlx::query("INSERT OR IGNORE INTO organizations (id, name, created) VALUES (?1, ?2, ?3)")
            .bind(DEFAULT_ORGANIZATION_ID)
            .bind("Default organization")
            .bind(now())
            .execute(&self.pool)
            .await?;
        let token = bootstrap.map_or_else(new_token, str::to_owned);
        let token_digest = digest(&token);
        let holder: Option<String> =
            sqlx::query_scalar("SELECT organization_id FROM tokens WHERE digest = ?1")
                .bind(token_digest.as_slice())
                .fetch_optional(&self.pool)
                .await?;
        if let Some(holder) = holder.filter(|holder| holder != DEFAULT_ORGANIZATION_ID) {
            return Err(SpError::TokenOfAnotherOrganization(holder));
        }
        let mut transaction = self.pool.begin().await?;
        let replaced: Vec<Vec<u8>> = sqlx::query_scalar(
            "DELETE FROM tokens WHERE organization_id = ?1 AND bootstrap = 1 AND digest != ?2 \
             RETURNING digest",
        )
        .bind(DEFAULT_ORGANIZATION_ID)
        .bind(token_digest.as_slice())
        .fetch_all(&mut *transaction)
        .await?;
        sqlx::query(
            "INSERT INTO tokens (digest, organization_id, role, created, bootstrap) \
             VALUES (?1, ?2, ?3, ?4, 1) \
             ON CONFLICT (digest) DO UPDATE SET role = excluded.role, bootstrap = 1",
        )
        .bind(token_digest.as_slice())
        .bind(DEFAULT_ORGANIZATION_ID)
        .bind(TokenRole::ReadWrite.as_str())
        .bind(now())
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        for old in replaced {
            if let Ok(old) = TokenDigest::try_from(old.as_slice()) {
                self.index.remove(&old);
            }
        }
        self.index.insert(
            token_digest,
            TokenGrant {
                organization_id: DEFAULT_ORGANIZATION_ID.into(),
                role: TokenRole::ReadWrite,
            },
        );
        Ok(token)
    }

    /// Creates an organization with a read-write token.
    pub(crate) async fn create_organization(&self, name: &str) -> Result<Organization, SpError> {
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query("INSERT INTO organizations (id, name, created) VALUES (?1, ?2, ?3)")
            .bind(&id)
            .bind(name)
            .bind(now())
            .execute(&self.pool)
            .await?;
        let token = self.issue_token(&id, TokenRole::ReadWrite).await?;
        Ok(Organization {
            id,
            name: name.to_owned(),
            token,
        })
    }

    /// The id of the oldest organization called `name`.
    pub(crate) async fn organization_named(&self, name: &str) -> Result<Option<String>, SpError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM organizations WHERE name = ?1 ORDER BY created, id LIMIT 1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Issues a new token for the organization.
    pub(crate) async fn issue_token(
        &self,
        organization_id: &str,
        role: TokenRole,
    ) -> Result<String, SpError> {
        self.ensure_organization(organization_id).await?;
        let token = new_token();
        self.register_token(organization_id, &token, role).await?;
        Ok(token)
    }

    /// Replaces `old` with a new token of the same role; `old` stops working at once.
    pub(crate) async fn rotate_token(
        &self,
        organization_id: &str,
        old: &str,
    ) -> Result<String, SpError> {
        let old_digest = digest(old);
        let mut transaction = self.pool.begin().await?;
        let role: Option<String> = sqlx::query_scalar(
            "DELETE FROM tokens WHERE digest = ?1 AND organization_id = ?2 RETURNING role",
        )
        .bind(old_digest.as_slice())
        .bind(organization_id)
        .fetch_optional(&mut *transaction)
        .await?;
        let role = TokenRole::from_stored(
            &role.ok_or_else(|| SpError::UnknownToken(organization_id.to_owned()))?,
        );
        let token = new_token();
        let new_digest = digest(&token);
        sqlx::query(
            "INSERT INTO tokens (digest, organization_id, role, created) VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(new_digest.as_slice())
        .bind(organization_id)
        .bind(role.as_str())
        .bind(now())
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        self.index.remove(&old_digest);
        self.index.insert(
            new_digest,
            TokenGrant {
                organization_id: organization_id.into(),
                role,
            },
        );
        Ok(token)
    }

    /// Every organization's SSO session timeout in minutes.
    pub(crate) async fn session_timeouts(&self) -> Result<HashMap<String, i64>, SpError> {
        let rows = sqlx::query("SELECT id, session_timeout_minutes FROM organizations")
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|row| Ok((row.try_get("id")?, row.try_get("session_timeout_minutes")?)))
            .collect()
    }

    /// Sets how long the organization's SSO sessions last.
    pub(crate) async fn set_session_timeout(
        &self,
        organization_id: &str,
        minutes: i64,
    ) -> Result<(), SpError> {
        let changed =
            sqlx::query("UPDATE organizations SET session_timeout_minutes = ?1 WHERE id = ?2")
                .bind(minutes)
                .bind(organization_id)
                .execute(&self.pool)
                .await?
                .rows_affected();
        if changed == 0 {
            return Err(SpError::UnknownOrganization(organization_id.to_owned()));
        }
        Ok(())
    }

    /// Sets what DELETE does to the organization's users.
    pub(crate) async fn set_deletion_policy(
        &self,
        organization_id: &str,
        policy: DeletionPolicy,
    ) -> Result<(), SpError> {
        let changed = sqlx::query("UPDATE organizations SET deletion_policy = ?1 WHERE id = ?2")
            .bind(policy.as_str())
            .bind(organization_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if changed == 0 {
            return Err(SpError::UnknownOrganization(organization_id.to_owned()));
        }
        Ok(())
    }

    async fn ensure_organization(&self, organization_id: &str) -> Result<(), SpError> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT id FROM organizations WHERE id = ?1")
                .bind(organization_id)
                .fetch_optional(&self.pool)
                .await?;
        found
            .map(|_| ())
            .ok_or_else(|| SpError::UnknownOrganization(organization_id.to_owned()))
    }

    /// Stores `token` for the organization (a token already stored keeps its organization).
    async fn register_token(
        &self,
        organization_id: &str,
        token: &str,
        role: TokenRole,
    ) -> Result<(), SpError> {
        let token_digest = digest(token);
        sqlx::query(
            "INSERT OR IGNORE INTO tokens (digest, organization_id, role, created) \
             VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(token_digest.as_slice())
        .bind(organization_id)
        .bind(role.as_str())
        .bind(now())
        .execute(&self.pool)
        .await?;
        let stored = sqlx::query("SELECT organization_id, role FROM tokens WHERE digest = ?1")
            .bind(token_digest.as_slice())
            .fetch_one(&self.pool)
            .await?;
        let stored_organization: String = stored.try_get("organization_id")?;
        let stored_role: String = stored.try_get("role")?;
        self.index.insert(
            token_digest,
            TokenGrant {
                organization_id: stored_organization.into(),
                role: TokenRole::from_stored(&stored_role),
            },
        );
        Ok(())
    }
}
