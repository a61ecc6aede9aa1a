//! Teams linked to IdP groups (seed 000, "Users and Teams with SSO"): added through the admin
//! API, the SAML attribute a connection reads groups from (JumpCloud's `memberOf`, personas.md
//! §3.2), and the teams `/whoami` lists.

use super::super::name_list;
use super::super::provisioning::unique_group_name;
use super::super::sso::last_session;
use super::{admin, change_saml_settings, organization};
use crate::world::{ScimWorld, StepError};
use cucumber::{given, then, when};
use reqwest::Method;
use serde_json::{Value, json};

/// Adds a team linked to an IdP group through the admin API. When the scenario's IdP
/// provisions, its group names carry the scenario's unique value, and so does the link.
#[given(regex = r#"^the organization has the team "([^"]+)" linked to the IdP group "([^"]+)"$"#)]
async fn team(world: &mut ScimWorld, name: String, group: String) -> Result<(), StepError> {
    let id = organization(world)?;
    let group = if world.provisioning().is_ok() {
        unique_group_name(&group, world.unique())
    } else {
        group
    };
    let added = admin(
        world,
        Method::POST,
        &format!("/organizations/{id}/teams"),
        Some(json!({ "name": name, "idp_group": group })),
        &[201],
    )
    .await?;
    if added["idp_group"] == group.as_str() {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "the admin API linked the team to another group than \"{group}\": {added}"
        )))
    }
}

#[given(regex = r#"^the connection reads the groups from the SAML attribute "([^"]+)"$"#)]
#[when(regex = r#"^the connection reads the groups from the SAML attribute "([^"]+)"$"#)]
async fn groups_attribute(world: &mut ScimWorld, attribute: String) -> Result<(), StepError> {
    change_saml_settings(world, |settings| {
        let mut mapped = settings
            .get("claim_attributes")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        mapped.insert("groups".into(), Value::String(attribute.clone()));
        settings.insert("claim_attributes".into(), Value::Object(mapped));
    })
    .await?;
    let mapped = world
        .sso()?
        .saml
        .as_ref()
        .and_then(|side| side.connection.claim_attributes.get("groups").cloned());
    if mapped.as_deref() == Some(attribute.as_str()) {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "the admin API kept the groups attribute {mapped:?}, not \"{attribute}\""
        )))
    }
}

#[then(regex = r#"^/whoami lists the teams? "([^"]*)"$"#)]
fn whoami_teams(world: &mut ScimWorld, teams: String) -> Result<(), StepError> {
    let session = last_session(world)?;
    let mut expected = name_list(&teams);
    expected.sort();
    let mut listed: Vec<String> = session["teams"]
        .as_array()
        .map(|teams| {
            teams
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    listed.sort();
    if listed == expected {
        Ok(())
    } else {
        Err(StepError::Expectation(format!(
            "expected /whoami to list the teams {expected:?}, it lists {}",
            session["teams"]
        )))
    }
}
