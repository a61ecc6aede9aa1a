//! What committed writes changed, for those who follow an organization's directory (its
//! webhook endpoints, seed 004 "Realtime user provisioning with webhooks").
//!
//! The writer asks its [`ChangeListener`] whether an organization is followed before it keeps
//! anything, so writes to organizations nobody follows cost one lookup; the changes it keeps
//! are handed over only once their transaction has committed.

use super::dataset::OrganizationData;
use super::mutations::RowChange;
use super::records::StoredResource;
use std::sync::Arc;

/// What happened to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    /// It was created.
    Created,
    /// It changed (including a user deactivated in place of a DELETE).
    Updated,
    /// It was deleted.
    Deleted,
}

/// One resource a committed write created, changed or deleted.
#[derive(Debug, Clone)]
pub(crate) struct DirectoryChange {
    /// What happened.
    pub(crate) kind: ChangeKind,
    /// The resource as it now is, or as it last was when deleted.
    pub(crate) resource: Arc<StoredResource>,
}

/// The changes of one successful write (a bulk request's successful operations), in the
/// order they were made, with the organization's data right after the write.
#[derive(Debug, Clone)]
pub(crate) struct ChangeSet {
    /// The organization written to.
    pub(crate) organization_id: Arc<str>,
    /// Its data once the write was applied, to render the resources with.
    pub(crate) data: OrganizationData,
    /// The changes, oldest first.
    pub(crate) changes: Vec<DirectoryChange>,
}

impl ChangeSet {
    /// The changes `rows` (one write's row changes) make, or `None` when they make none.
    pub(super) fn from_rows(
        organization_id: &Arc<str>,
        data: OrganizationData,
        rows: &[RowChange],
    ) -> Option<ChangeSet> {
        let changes: Vec<DirectoryChange> = rows
            .iter()
            .map(|row| match row {
                // Every later write of a resource raises its version, so version 1 is a create.
                RowChange::Put { resource, .. } => DirectoryChange {
                    kind: if resource.version == 1 {
                        ChangeKind::Created
                    } else {
                        ChangeKind::Updated
                    },
                    resource: Arc::clone(resource),
                },
                RowChange::Delete { resource } => DirectoryChange {
                    kind: ChangeKind::Deleted,
                    resource: Arc::clone(resource),
                },
            })
            .collect();
        (!changes.is_empty()).then(|| ChangeSet {
            organization_id: Arc::clone(organization_id),
            data,
            changes,
        })
    }
}

/// Who the writer tells about committed changes.
pub(crate) trait ChangeListener: Send + Sync {
    /// Whether the changes of `organization_id` are wanted; asked once per successful write.
    fn follows(&self, organization_id: &str) -> bool;

    /// Takes the change sets of one commit, in commit order. It must not block: the writer
    /// calls it before answering the writes.
    fn committed(&self, change_sets: Vec<ChangeSet>);
}
