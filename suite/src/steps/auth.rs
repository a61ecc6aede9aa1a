//! Bearer tokens (RFC 7644 §2) and, on the bundled reference SP, organizations, token roles,
//! rotation and the deletion policy. Steps that need the SP's administration handle only
//! run in scenarios tagged `@reference-sp`.

use crate::world::{Credentials, ScimWorld, StepError};
use cucumber::{given, when};
use idpsim_reference_sp::{DeletionPolicy, TokenRole};

#[given("I send no bearer token")]
fn no_token(world: &mut ScimWorld) {
    world.use_credentials(Credentials::None);
}

#[given(regex = r#"^I send the bearer token "([^"]*)"$"#)]
fn bearer_token(world: &mut ScimWorld, token: String) -> Result<(), StepError> {
    let token = world.expand(&token)?;
    world.use_credentials(Credentials::Bearer(token));
    Ok(())
}

/// Creates an organization named after the scenario, remembering its id as `org:NAME` and
/// its token as `token:NAME`.
#[given(regex = r#"^a separate organization "([^"]+)" on the reference SP$"#)]
async fn separate_organization(world: &mut ScimWorld, name: String) -> Result<(), StepError> {
    let sp = world.reference_sp()?;
    let organization = sp
        .create_organization(&format!("{}-{name}", world.unique()))
        .await?;
    world.remember(org_key(&name), organization.id.to_string());
    world.remember(token_key(&name), organization.token);
    Ok(())
}

#[given(regex = r#"^a read-only token "([^"]+)" issued for organization "([^"]+)"$"#)]
async fn read_only_token(
    world: &mut ScimWorld,
    token_name: String,
    organization: String,
) -> Result<(), StepError> {
    let sp = world.reference_sp()?;
    let org_id = world.recall(&org_key(&organization))?.to_owned();
    let token = sp.issue_token(&org_id, TokenRole::ReadOnly).await?;
    world.remember(token_key(&token_name), token);
    Ok(())
}

/// Rotates the organization's token; the old one is kept as `previous-token:NAME`.
#[when(regex = r#"^the token of organization "([^"]+)" is rotated$"#)]
async fn rotate(world: &mut ScimWorld, organization: String) -> Result<(), StepError> {
    let sp = world.reference_sp()?;
    let org_id = world.recall(&org_key(&organization))?.to_owned();
    let old = world.recall(&token_key(&organization))?.to_owned();
    let new = sp.rotate_token(&org_id, &old).await?;
    world.remember(format!("previous-token:{organization}"), old);
    world.remember(token_key(&organization), new);
    Ok(())
}

#[given(regex = r#"^organization "([^"]+)" deactivates users instead of deleting them$"#)]
async fn deactivate_instead_of_delete(
    world: &mut ScimWorld,
    organization: String,
) -> Result<(), StepError> {
    let sp = world.reference_sp()?;
    let org_id = world.recall(&org_key(&organization))?.to_owned();
    sp.set_deletion_policy(&org_id, DeletionPolicy::Deactivate)
        .await?;
    Ok(())
}

#[given(regex = r#"^I use the token of organization "([^"]+)"$"#)]
#[when(regex = r#"^I use the token of organization "([^"]+)"$"#)]
fn use_organization_token(world: &mut ScimWorld, organization: String) -> Result<(), StepError> {
    use_remembered_token(world, &token_key(&organization))
}

#[when(regex = r#"^I use the previous token of organization "([^"]+)"$"#)]
fn use_previous_token(world: &mut ScimWorld, organization: String) -> Result<(), StepError> {
    use_remembered_token(world, &format!("previous-token:{organization}"))
}

#[given(regex = r#"^I use the token "([^"]+)"$"#)]
#[when(regex = r#"^I use the token "([^"]+)"$"#)]
fn use_named_token(world: &mut ScimWorld, token_name: String) -> Result<(), StepError> {
    use_remembered_token(world, &token_key(&token_name))
}

fn use_remembered_token(world: &mut ScimWorld, key: &str) -> Result<(), StepError> {
    let token = world.recall(key)?.to_owned();
    world.use_credentials(Credentials::Bearer(token));
    Ok(())
}

fn org_key(name: &str) -> String {
    format!("org:{name}")
}

fn token_key(name: &str) -> String {
    format!("token:{name}")
}
