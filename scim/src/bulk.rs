//! Bulk requests (RFC 7644 §3.7): parsing, `bulkId` ordering and resolution, the response.
//!
//! The server executes each operation itself; this module decides the order (an operation
//! runs after the POSTs whose `bulkId` it references, so forward references work) and rewrites
//! `bulkId:` references into the ids those POSTs created.

use crate::error::{ScimError, ScimResult};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};

/// URN of a bulk request body.
pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// URN of a bulk response body.
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

const BULK_ID_PREFIX: &str = "bulkId:";

/// The HTTP method of one bulk operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMethod {
    /// Create.
    Post,
    /// Replace.
    Put,
    /// Modify.
    Patch,
    /// Delete.
    Delete,
}

impl BulkMethod {
    /// The method as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkMethod::Post => "POST",
            BulkMethod::Put => "PUT",
            BulkMethod::Patch => "PATCH",
            BulkMethod::Delete => "DELETE",
        }
    }
}

/// One operation of a bulk request.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperation {
    /// Its method.
    pub method: BulkMethod,
    /// The client's name for the resource a POST creates.
    pub bulk_id: Option<String>,
    /// The version the client expects (`If-Match` semantics).
    pub version: Option<String>,
    /// The resource path relative to the base URL, e.g. `/Users` or `/Groups/{id}`.
    pub path: String,
    /// The request body for POST, PUT and PATCH.
    pub data: Option<Value>,
}

/// A parsed bulk request.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRequest {
    /// Stop after this many failed operations (`failOnErrors`).
    pub fail_on_errors: Option<usize>,
    /// The operations, in request order.
    pub operations: Vec<BulkOperation>,
}

/// The outcome of one bulk operation, for the response.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperationResult {
    /// The method that was attempted.
    pub method: BulkMethod,
    /// The operation's `bulkId`, echoed.
    pub bulk_id: Option<String>,
    /// The resource's location: always but for a failed POST.
    pub location: Option<String>,
    /// The resource's new version, on success.
    pub version: Option<String>,
    /// The HTTP status the operation would have had on its own.
    pub status: u16,
    /// The error body, on failure.
    pub response: Option<Value>,
}

impl BulkOperationResult {
    /// A failed operation, carrying the SCIM error body. It names the resource it was for,
    /// under `base_url`, unless it was a POST (RFC 7644 §3.7.3: `location` is "REQUIRED in a
    /// response, except in the event of a POST failure").
    pub fn failed(
        operation: &BulkOperation,
        error: &ScimError,
        base_url: &str,
    ) -> BulkOperationResult {
        BulkOperationResult {
            method: operation.method,
            bulk_id: operation.bulk_id.clone(),
            location: (operation.method != BulkMethod::Post)
                .then(|| format!("{base_url}{}", operation.path)),
            version: None,
            status: error.status(),
            response: Some(error.to_body()),
        }
    }
}

/// The order in which to execute a bulk request's operations.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionPlan {
    /// Indices of operations that can run one after the other, each after the POSTs it
    /// references, otherwise in request order.
    pub order: Vec<usize>,
    /// Indices, in request order, of the operations caught in or behind a circular `bulkId`
    /// reference (POSTs that reference each other, and what references them). They run after
    /// `order`: the POSTs created without the references still open, then completed (RFC
    /// 7644 §3.7.1: the server "MUST try to resolve circular cross-references").
    pub circular: Vec<usize>,
}

impl BulkRequest {
    /// Parses a bulk request body. More than `max_operations` operations is a 413
    /// (RFC 7644 §3.7.4); a repeated `bulkId` is an `invalidValue`.
    pub fn parse(body: &Value, max_operations: usize) -> ScimResult<BulkRequest> {
        let map = body
            .as_object()
            .ok_or_else(|| ScimError::InvalidSyntax("a bulk request is a JSON object".into()))?;
        let has_schema = get(map, "schemas")
            .and_then(Value::as_array)
            .is_some_and(|s| {
                s.iter()
                    .filter_map(Value::as_str)
                    .any(|u| u.eq_ignore_ascii_case(BULK_REQUEST_SCHEMA))
            });
        if !has_schema {
            return Err(ScimError::InvalidSyntax(format!(
                "`schemas` must contain `{BULK_REQUEST_SCHEMA}`"
            )));
        }
        let fail_on_errors = match get(map, "failOnErrors") {
            None | Some(Value::Null) => None,
            Some(value) => Some(
                value
                    .as_u64()
                    .filter(|n| *n > 0)
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| {
                        ScimError::InvalidValue("`failOnErrors` must be a positive integer".into())
                    })?,
            ),
        };
        let raw_operations = get(map, "Operations")
            .and_then(Value::as_array)
            .ok_or_else(|| ScimError::InvalidSyntax("`Operations` must be an array".into()))?;
        if raw_operations.len() > max_operations {
            return Err(ScimError::PayloadTooLarge(format!(
                "the bulk request has {} operations; the maximum is {max_operations}",
                raw_operations.len()
            )));
        }
        let mut operations = Vec::with_capacity(raw_operations.len());
        let mut bulk_ids = HashSet::new();
        for (index, raw) in raw_operations.iter().enumerate() {
            let operation = parse_operation(index, raw)?;
            if let Some(bulk_id) = &operation.bulk_id
                && !bulk_ids.insert(bulk_id.clone())
            {
                return Err(ScimError::InvalidValue(format!(
                    "bulkId `{bulk_id}` is used by more than one operation"
                )));
            }
            operations.push(operation);
        }
        Ok(BulkRequest {
            fail_on_errors,
            operations,
        })
    }

    /// Orders the operations so that each runs after the POSTs whose `bulkId` it references;
    /// those caught in a reference cycle are set apart (see [`ExecutionPlan::circular`]).
    pub fn execution_plan(&self) -> ExecutionPlan {
        let creators: HashMap<&str, usize> = self
            .operations
            .iter()
            .enumerate()
            .filter(|(_, op)| op.method == BulkMethod::Post)
            .filter_map(|(i, op)| op.bulk_id.as_deref().map(|id| (id, i)))
            .collect();
        let dependencies: Vec<Vec<usize>> = self
            .operations
            .iter()
            .enumerate()
            .map(|(i, op)| {
                referenced_bulk_ids(op)
                    .iter()
                    .filter_map(|id| creators.get(id.as_str()).copied())
                    .filter(|&creator| creator != i)
                    .collect()
            })
            .collect();
        let mut done = vec![false; self.operations.len()];
        let mut order = Vec::with_capacity(self.operations.len());
        loop {
            let ready: Vec<usize> = (0..self.operations.len())
                .filter(|&i| !done[i] && dependencies[i].iter().all(|&d| done[d]))
                .collect();
            let Some(&next) = ready.first() else { break };
            done[next] = true;
            order.push(next);
        }
        let circular = (0..self.operations.len()).filter(|&i| !done[i]).collect();
        ExecutionPlan { order, circular }
    }
}

/// Like [`resolve_bulk_ids`], for a POST caught in a circular reference: a value that
/// references one of the `pending` bulkIds, whose resource does not exist yet, is left out
/// (an element of a list, such as a group member, or the attribute holding it, such as a
/// `manager`). Returns the operation and whether anything was left out, in which case the
/// resource is to be completed with the whole data once the pending POSTs have run.
pub fn resolve_bulk_ids_leaving_out(
    operation: &BulkOperation,
    created: &HashMap<String, String>,
    pending: &HashSet<String>,
) -> ScimResult<(BulkOperation, bool)> {
    let is_pending = |text: &str| {
        let mut ids = Vec::new();
        collect_ids(text, &mut ids);
        ids.iter()
            .any(|id| pending.contains(id) && !created.contains_key(id))
    };
    let mut partial = operation.clone();
    let mut left_out = false;
    if let Some(data) = &mut partial.data {
        left_out = leave_out(data, &is_pending);
    }
    Ok((resolve_bulk_ids(&partial, created)?, left_out))
}

/// Removes from `value` what references a pending resource: each list element holding such a
/// reference (a group member), and each object member that is one (a string) or is a flat
/// complex value holding one (`manager: {"value": "bulkId:m"}`). Whether it removed anything.
fn leave_out(value: &mut Value, is_pending: &impl Fn(&str) -> bool) -> bool {
    let mut removed = false;
    match value {
        Value::Array(items) => {
            let before = items.len();
            items.retain(|item| !holds_pending(item, is_pending));
            removed = items.len() != before;
        }
        Value::Object(map) => {
            map.retain(|_, member| {
                let flat = match &*member {
                    Value::Object(inner) => inner.values().all(|v| !v.is_object() && !v.is_array()),
                    Value::Array(_) => false,
                    _ => true,
                };
                let drop = flat && holds_pending(member, is_pending);
                removed |= drop;
                !drop
            });
            for member in map.values_mut() {
                removed |= leave_out(member, is_pending);
            }
        }
        _ => {}
    }
    removed
}

/// Whether any string in `value` is one `is_pending` accepts.
fn holds_pending(value: &Value, is_pending: &impl Fn(&str) -> bool) -> bool {
    let mut found = false;
    visit_strings(value, &mut |text| found |= is_pending(text));
    found
}

/// Replaces every `bulkId:X` in the operation's path and data with the id the POST named `X`
/// created. A reference to a bulkId that did not (successfully) create anything is an
/// `invalidValue` error for this operation.
pub fn resolve_bulk_ids(
    operation: &BulkOperation,
    created: &HashMap<String, String>,
) -> ScimResult<BulkOperation> {
    let substitute = |text: &str| -> ScimResult<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find(BULK_ID_PREFIX) {
            out.push_str(&rest[..at]);
            let after = &rest[at + BULK_ID_PREFIX.len()..];
            let end = after.find(['/', '"', ' ']).unwrap_or(after.len());
            let bulk_id = &after[..end];
            let id = created.get(bulk_id).ok_or_else(|| {
                ScimError::InvalidValue(format!(
                    "bulkId `{bulk_id}` does not name a resource created earlier in this request"
                ))
            })?;
            out.push_str(id);
            rest = &after[end..];
        }
        out.push_str(rest);
        Ok(out)
    };
    let mut resolved = operation.clone();
    resolved.path = substitute(&operation.path)?;
    if let Some(data) = &mut resolved.data {
        rewrite_strings(data, &substitute)?;
    }
    Ok(resolved)
}

/// The bulk response body (RFC 7644 §3.7.3); statuses are strings, as in the RFC's examples.
pub fn bulk_response(results: &[BulkOperationResult]) -> Value {
    let operations: Vec<Value> = results
        .iter()
        .map(|result| {
            let mut op = Map::new();
            op.insert("method".into(), json!(result.method.as_str()));
            if let Some(bulk_id) = &result.bulk_id {
                op.insert("bulkId".into(), json!(bulk_id));
            }
            if let Some(location) = &result.location {
                op.insert("location".into(), json!(location));
            }
            if let Some(version) = &result.version {
                op.insert("version".into(), json!(version));
            }
            op.insert("status".into(), json!(result.status.to_string()));
            if let Some(response) = &result.response {
                op.insert("response".into(), response.clone());
            }
            Value::Object(op)
        })
        .collect();
    json!({"schemas": [BULK_RESPONSE_SCHEMA], "Operations": operations})
}

fn parse_operation(index: usize, raw: &Value) -> ScimResult<BulkOperation> {
    let invalid = |what: &str| ScimError::InvalidSyntax(format!("Operations[{index}]: {what}"));
    let map = raw
        .as_object()
        .ok_or_else(|| invalid("must be an object"))?;
    let method = match get(map, "method").and_then(Value::as_str) {
        Some(m) if m.eq_ignore_ascii_case("POST") => BulkMethod::Post,
        Some(m) if m.eq_ignore_ascii_case("PUT") => BulkMethod::Put,
        Some(m) if m.eq_ignore_ascii_case("PATCH") => BulkMethod::Patch,
        Some(m) if m.eq_ignore_ascii_case("DELETE") => BulkMethod::Delete,
        _ => return Err(invalid("`method` must be POST, PUT, PATCH or DELETE")),
    };
    let text = |key: &str| -> ScimResult<Option<String>> {
        match get(map, key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(&format!("`{key}` must be a string"))),
        }
    };
    let path = text("path")?.ok_or_else(|| invalid("`path` is required"))?;
    let bulk_id = text("bulkId")?;
    if method == BulkMethod::Post && bulk_id.is_none() {
        return Err(invalid("a POST needs a `bulkId` (RFC 7644 §3.7)"));
    }
    let data = get(map, "data").filter(|d| !d.is_null()).cloned();
    if method != BulkMethod::Delete && data.is_none() {
        return Err(invalid("`data` is required for POST, PUT and PATCH"));
    }
    Ok(BulkOperation {
        method,
        bulk_id,
        version: text("version")?,
        path,
        data,
    })
}

fn get<'v>(map: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    crate::schema::get_ignore_case(map, key)
}

fn referenced_bulk_ids(operation: &BulkOperation) -> Vec<String> {
    let mut ids = Vec::new();
    collect_ids(&operation.path, &mut ids);
    if let Some(data) = &operation.data {
        visit_strings(data, &mut |s| collect_ids(s, &mut ids));
    }
    ids
}

fn collect_ids(text: &str, ids: &mut Vec<String>) {
    let mut rest = text;
    while let Some(at) = rest.find(BULK_ID_PREFIX) {
        let after = &rest[at + BULK_ID_PREFIX.len()..];
        let end = after.find(['/', '"', ' ']).unwrap_or(after.len());
        ids.push(after[..end].to_string());
        rest = &after[end..];
    }
}

fn visit_strings(value: &Value, visit: &mut impl FnMut(&str)) {
    match value {
        Value::String(s) => visit(s),
        Value::Array(items) => items.iter().for_each(|v| visit_strings(v, visit)),
        Value::Object(map) => map.values().for_each(|v| visit_strings(v, visit)),
        _ => {}
    }
}

fn rewrite_strings(
    value: &mut Value,
    substitute: &impl Fn(&str) -> ScimResult<String>,
) -> ScimResult<()> {
    match value {
        Value::String(s) if s.contains(BULK_ID_PREFIX) => *s = substitute(s)?,
        Value::Array(items) => {
            for item in items {
                rewrite_strings(item, substitute)?;
            }
        }
        Value::Object(map) => {
            for item in map.values_mut() {
                rewrite_strings(item, substitute)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(operations: Value) -> Value {
        json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": operations})
    }

    #[test]
    fn forward_reference_runs_after_its_creator() {
        let body = request(json!([
            {"method": "POST", "path": "/Groups", "bulkId": "g",
             "data": {"displayName": "Tour", "members": [{"value": "bulkId:u"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"userName": "a"}}
        ]));
        let plan = BulkRequest::parse(&body, 10).unwrap().execution_plan();
        assert_eq!(plan.order, [1, 0]);
        assert!(plan.circular.is_empty());
    }

    #[test]
    fn circular_references_are_set_apart() {
        let body = request(json!([
            {"method": "POST", "path": "/Groups", "bulkId": "a",
             "data": {"displayName": "A", "members": [{"value": "bulkId:b"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "b",
             "data": {"displayName": "B", "members": [{"value": "bulkId:a"}]}},
            {"method": "DELETE", "path": "/Users/x"}
        ]));
        let plan = BulkRequest::parse(&body, 10).unwrap().execution_plan();
        assert_eq!(plan.order, [2]);
        assert_eq!(plan.circular, [0, 1]);
    }

    #[test]
    fn references_to_pending_resources_are_left_out() {
        let post = |data: Value| BulkOperation {
            method: BulkMethod::Post,
            bulk_id: Some("a".into()),
            version: None,
            path: "/Groups".into(),
            data: Some(data),
        };
        let pending = HashSet::from(["a".to_string(), "b".to_string(), "m".to_string()]);
        let created = HashMap::from([("b".to_string(), "B1".to_string())]);
        let group = post(json!({"displayName": "A", "members": [
            {"value": "bulkId:b", "type": "Group"}, {"value": "bulkId:m"}, {"value": "u1"}
        ]}));
        let (partial, left_out) = resolve_bulk_ids_leaving_out(&group, &created, &pending).unwrap();
        assert!(left_out);
        assert_eq!(
            partial.data.unwrap()["members"],
            json!([{"value": "B1", "type": "Group"}, {"value": "u1"}])
        );
        let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let user = post(json!({"userName": "x", enterprise: {
            "department": "R&D", "manager": {"value": "bulkId:m"}
        }}));
        let (partial, left_out) = resolve_bulk_ids_leaving_out(&user, &created, &pending).unwrap();
        assert!(left_out);
        assert_eq!(
            partial.data.unwrap()[enterprise],
            json!({"department": "R&D"})
        );
        let complete = post(json!({"displayName": "C", "members": [{"value": "bulkId:b"}]}));
        let (_, left_out) = resolve_bulk_ids_leaving_out(&complete, &created, &pending).unwrap();
        assert!(!left_out);
        // A reference to a bulkId that is neither created nor pending is still an error.
        let stray = post(json!({"displayName": "D", "members": [{"value": "bulkId:zz"}]}));
        assert!(resolve_bulk_ids_leaving_out(&stray, &created, &pending).is_err());
    }

    #[test]
    fn a_failed_operation_names_its_resource_unless_it_was_a_post() {
        let error = ScimError::NotFound("gone".into());
        let operation = |method| BulkOperation {
            method,
            bulk_id: Some("x".into()),
            version: None,
            path: "/Users/u1".into(),
            data: None,
        };
        let base = "http://127.0.0.1:8080/scim/v2";
        for method in [BulkMethod::Put, BulkMethod::Patch, BulkMethod::Delete] {
            let failed = BulkOperationResult::failed(&operation(method), &error, base);
            assert_eq!(
                failed.location.as_deref(),
                Some("http://127.0.0.1:8080/scim/v2/Users/u1")
            );
        }
        let post = BulkOperationResult::failed(&operation(BulkMethod::Post), &error, base);
        assert_eq!(post.location, None);
    }

    #[test]
    fn bulk_ids_resolve_in_data_and_path() {
        let op = BulkOperation {
            method: BulkMethod::Patch,
            bulk_id: None,
            version: None,
            path: "/Groups/bulkId:g".into(),
            data: Some(json!({"Operations": [{"op": "add", "path": "members",
                                              "value": [{"value": "bulkId:u"}]}]})),
        };
        let created = HashMap::from([
            ("g".to_string(), "G1".to_string()),
            ("u".to_string(), "U1".to_string()),
        ]);
        let resolved = resolve_bulk_ids(&op, &created).unwrap();
        assert_eq!(resolved.path, "/Groups/G1");
        assert_eq!(
            resolved.data.unwrap()["Operations"][0]["value"][0]["value"],
            "U1"
        );
    }

    #[test]
    fn unknown_bulk_id_is_invalid_value() {
        let op = BulkOperation {
            method: BulkMethod::Delete,
            bulk_id: None,
            version: None,
            path: "/Users/bulkId:nope".into(),
            data: None,
        };
        let err = resolve_bulk_ids(&op, &HashMap::new()).unwrap_err();
        assert_eq!(err.scim_type(), Some("invalidValue"));
    }

    #[test]
    fn too_many_operations_is_413() {
        let ops: Vec<Value> = (0..3)
            .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
            .collect();
        let err = BulkRequest::parse(&request(Value::Array(ops)), 2).unwrap_err();
        assert_eq!(err.status(), 413);
    }

    #[test]
    fn post_without_bulk_id_and_duplicate_bulk_ids_are_refused() {
        let no_id = request(json!([{"method": "POST", "path": "/Users", "data": {}}]));
        assert_eq!(BulkRequest::parse(&no_id, 10).unwrap_err().status(), 400);
        let twice = request(json!([
            {"method": "POST", "path": "/Users", "bulkId": "x", "data": {}},
            {"method": "POST", "path": "/Users", "bulkId": "x", "data": {}}
        ]));
        assert_eq!(
            BulkRequest::parse(&twice, 10).unwrap_err().scim_type(),
            Some("invalidValue")
        );
    }

    #[test]
    fn response_uses_string_statuses() {
        let result = BulkOperationResult {
            method: BulkMethod::Post,
            bulk_id: Some("u".into()),
            location: Some("http://x/Users/1".into()),
            version: Some("W/\"1\"".into()),
            status: 201,
            response: None,
        };
        let body = bulk_response(&[result]);
        assert_eq!(body["Operations"][0]["status"], "201");
        assert_eq!(body["Operations"][0]["bulkId"], "u");
    }

    #[test]
    fn fail_on_errors_must_be_positive() {
        let body = json!({"schemas": [BULK_REQUEST_SCHEMA], "failOnErrors": 0, "Operations": []});
        assert!(BulkRequest::parse(&body, 10).is_err());
    }
}
