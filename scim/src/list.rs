//! List and search queries (RFC 7644 §3.4.2, §3.4.3): parameters, paging and `ListResponse`.

use crate::error::{ScimError, ScimResult};
use crate::filter::{Filter, parse_filter};
use crate::projection::Projection;
use crate::schema::ResourceSchema;
use crate::sort::SortSpec;
use serde::Deserialize;
use serde_json::{Value, json};

/// URN of a list response (RFC 7644 §3.4.2).
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// URN of a `POST /.search` request body (RFC 7644 §3.4.3).
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Query-string parameters of a list request, as sent (RFC 7644 §3.4.2).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    /// `filter`
    pub filter: Option<String>,
    /// `startIndex` (1-based)
    pub start_index: Option<String>,
    /// `count`
    pub count: Option<String>,
    /// `sortBy`
    pub sort_by: Option<String>,
    /// `sortOrder`
    pub sort_order: Option<String>,
    /// `attributes`
    pub attributes: Option<String>,
    /// `excludedAttributes`
    pub excluded_attributes: Option<String>,
}

/// A validated list query.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// The filter, if any.
    pub filter: Option<Filter>,
    /// 1-based index of the first result.
    pub start_index: usize,
    /// Page size, already capped at the server's `maxResults`.
    pub count: usize,
    /// The sort, if any.
    pub sort: Option<SortSpec>,
    /// Which attributes each result carries.
    pub projection: Projection,
}

impl ListQuery {
    /// Validates query-string parameters. A `startIndex` below 1 counts as 1 and a negative
    /// `count` as 0 (RFC 7644 §3.4.2.4); `count` above `max_results` is capped at it, and a
    /// missing `count` means `max_results`.
    pub fn from_params(
        params: &ListParams,
        schema: &ResourceSchema,
        max_results: usize,
    ) -> ScimResult<ListQuery> {
        let start_index = match params.start_index.as_deref() {
            None => 1,
            Some(text) => clamp_start(parse_integer("startIndex", text)?),
        };
        let count = match params.count.as_deref() {
            None => max_results,
            Some(text) => clamp_count(parse_integer("count", text)?, max_results),
        };
        Ok(ListQuery {
            filter: params
                .filter
                .as_deref()
                .filter(|f| !f.trim().is_empty())
                .map(parse_filter)
                .transpose()?,
            start_index,
            count,
            sort: SortSpec::parse(
                params.sort_by.as_deref(),
                params.sort_order.as_deref(),
                schema,
            )?,
            projection: Projection::parse(
                params.attributes.as_deref(),
                params.excluded_attributes.as_deref(),
                schema,
            )?,
        })
    }

    /// Validates a `POST .search` body (RFC 7644 §3.4.3).
    pub fn from_search_request(
        body: &Value,
        schema: &ResourceSchema,
        max_results: usize,
    ) -> ScimResult<ListQuery> {
        let request = SearchRequest::read(body, max_results)?;
        Ok(ListQuery {
            sort: SortSpec::parse(
                request.sort_by.as_deref(),
                request.sort_order.as_deref(),
                schema,
            )?,
            projection: request.projection(schema)?,
            filter: request.filter,
            start_index: request.start_index,
            count: request.count,
        })
    }

    /// Validates a `POST /.search` body at the server root, which covers several resource
    /// types (RFC 7644 §3.4.2.1): one query per type of `schemas`, in their order, sharing
    /// the filter, paging and sort. An attribute that only some of the types have is one the
    /// others hold no value for: the filter is evaluated with [`Filter::matches_across`], and
    /// the sort puts their resources where missing values go. An attribute none of them has
    /// is an error.
    pub fn from_root_search_request(
        body: &Value,
        schemas: &[&ResourceSchema],
        max_results: usize,
    ) -> ScimResult<Vec<ListQuery>> {
        let request = SearchRequest::read(body, max_results)?;
        if let Some(filter) = &request.filter {
            filter.check_across(schemas)?;
        }
        let sort = SortSpec::parse_across(
            request.sort_by.as_deref(),
            request.sort_order.as_deref(),
            schemas,
        )?;
        schemas
            .iter()
            .map(|schema| {
                Ok(ListQuery {
                    filter: request.filter.clone(),
                    start_index: request.start_index,
                    count: request.count,
                    sort: sort.clone(),
                    projection: request.projection(schema)?,
                })
            })
            .collect()
    }

    /// Runs the query over rendered candidate resources: filter, sort, page, project, and
    /// wrap the page in a `ListResponse`.
    pub fn run(&self, candidates: Vec<Value>, schema: &ResourceSchema) -> ScimResult<Value> {
        let mut matched = Vec::with_capacity(candidates.len());
        for resource in candidates {
            let keep = match (&self.filter, resource.as_object()) {
                (None, _) => true,
                (Some(filter), Some(map)) => filter.matches(map, schema)?,
                (Some(_), None) => false,
            };
            if keep {
                matched.push(resource);
            }
        }
        if let Some(sort) = &self.sort {
            sort.sort(&mut matched);
        }
        let total = matched.len();
        let page: Vec<Value> = matched
            .iter()
            .skip(self.start_index - 1)
            .take(self.count)
            .map(|resource| self.projection.apply(resource, schema))
            .collect();
        Ok(list_response(total, self.start_index, page))
    }
}

/// The members of a `SearchRequest` body (RFC 7644 §3.4.3), read but not yet resolved
/// against a resource type.
struct SearchRequest {
    filter: Option<Filter>,
    start_index: usize,
    count: usize,
    sort_by: Option<String>,
    sort_order: Option<String>,
    attributes: Vec<String>,
    excluded_attributes: Vec<String>,
}

impl SearchRequest {
    fn read(body: &Value, max_results: usize) -> ScimResult<SearchRequest> {
        let map = body
            .as_object()
            .ok_or_else(|| ScimError::InvalidSyntax("a search request is a JSON object".into()))?;
        let lists_search_schema = map
            .get("schemas")
            .and_then(Value::as_array)
            .is_some_and(|s| {
                s.iter()
                    .filter_map(Value::as_str)
                    .any(|u| u.eq_ignore_ascii_case(SEARCH_REQUEST_SCHEMA))
            });
        if !lists_search_schema {
            return Err(ScimError::InvalidSyntax(format!(
                "`schemas` must contain `{SEARCH_REQUEST_SCHEMA}`"
            )));
        }
        let text = |key: &str| -> ScimResult<Option<String>> {
            match crate::schema::get_ignore_case(map, key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(ScimError::InvalidValue(format!("`{key}` must be a string"))),
            }
        };
        let number = |key: &str| -> ScimResult<Option<i64>> {
            match crate::schema::get_ignore_case(map, key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => saturating_integer(n)
                    .map(Some)
                    .ok_or_else(|| ScimError::InvalidValue(format!("`{key}` must be an integer"))),
                Some(_) => Err(ScimError::InvalidValue(format!(
                    "`{key}` must be an integer"
                ))),
            }
        };
        let names = |key: &str| -> ScimResult<Vec<String>> {
            match crate::schema::get_ignore_case(map, key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::String(s)) => Ok(s.split(',').map(str::to_string).collect()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| {
                        item.as_str().map(str::to_string).ok_or_else(|| {
                            ScimError::InvalidValue(format!("`{key}` must list strings"))
                        })
                    })
                    .collect(),
                Some(_) => Err(ScimError::InvalidValue(format!(
                    "`{key}` must list strings"
                ))),
            }
        };
        Ok(SearchRequest {
            filter: text("filter")?
                .as_deref()
                .filter(|f| !f.trim().is_empty())
                .map(parse_filter)
                .transpose()?,
            start_index: number("startIndex")?.map_or(1, clamp_start),
            count: number("count")?.map_or(max_results, |c| clamp_count(c, max_results)),
            sort_by: text("sortBy")?,
            sort_order: text("sortOrder")?,
            attributes: names("attributes")?,
            excluded_attributes: names("excludedAttributes")?,
        })
    }

    fn projection(&self, schema: &ResourceSchema) -> ScimResult<Projection> {
        Projection::from_lists(&self.attributes, &self.excluded_attributes, schema)
    }
}

/// A `ListResponse` message (RFC 7644 §3.4.2).
pub fn list_response(total_results: usize, start_index: usize, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total_results,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// An integer parameter; one beyond the range of `i64` saturates, as paging clamps it anyway.
fn parse_integer(name: &str, text: &str) -> ScimResult<i64> {
    let digits = text.trim();
    if let Ok(number) = digits.parse::<i64>() {
        return Ok(number);
    }
    let unsigned = digits.strip_prefix(['+', '-']).unwrap_or(digits);
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(if digits.starts_with('-') {
            i64::MIN
        } else {
            i64::MAX
        });
    }
    Err(ScimError::InvalidValue(format!(
        "`{name}` must be an integer, not `{text}`"
    )))
}

/// A JSON integer as `i64`, saturating beyond its range; `None` for a fraction.
fn saturating_integer(number: &serde_json::Number) -> Option<i64> {
    if let Some(value) = number.as_i64() {
        return Some(value);
    }
    if number.is_u64() {
        return Some(i64::MAX);
    }
    let value = number.as_f64()?;
    // `as` saturates at the ends of the range.
    (value.fract() == 0.0).then_some(value as i64)
}

fn clamp_start(start: i64) -> usize {
    usize::try_from(start.max(1)).unwrap_or(usize::MAX)
}

fn clamp_count(count: i64, max_results: usize) -> usize {
    usize::try_from(count.max(0))
        .unwrap_or(usize::MAX)
        .min(max_results)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> ListParams {
        let mut params = ListParams::default();
        for (key, value) in pairs {
            let slot = match *key {
                "startIndex" => &mut params.start_index,
                "count" => &mut params.count,
                other => panic!("no test support for `{other}`"),
            };
            *slot = Some(value.to_string());
        }
        params
    }

    fn users(n: usize) -> Vec<Value> {
        (1..=n)
            .map(|i| json!({"id": format!("u{i}"), "userName": format!("user{i:02}")}))
            .collect()
    }

    #[test]
    fn paging_reports_total_and_page_size() {
        let query = ListQuery::from_params(
            &params(&[("startIndex", "3"), ("count", "2")]),
            ResourceSchema::user(),
            100,
        )
        .unwrap();
        let out = query.run(users(5), ResourceSchema::user()).unwrap();
        assert_eq!(out["totalResults"], 5);
        assert_eq!(out["startIndex"], 3);
        assert_eq!(out["itemsPerPage"], 2);
        assert_eq!(out["Resources"][0]["id"], "u3");
    }

    #[test]
    fn start_index_below_one_counts_as_one_and_negative_count_as_zero() {
        let query = ListQuery::from_params(
            &params(&[("startIndex", "-4"), ("count", "-1")]),
            ResourceSchema::user(),
            100,
        )
        .unwrap();
        assert_eq!(query.start_index, 1);
        assert_eq!(query.count, 0);
        let out = query.run(users(3), ResourceSchema::user()).unwrap();
        assert_eq!(out["totalResults"], 3);
        assert_eq!(out["Resources"], json!([]));
    }

    #[test]
    fn count_is_capped_at_max_results() {
        let query =
            ListQuery::from_params(&params(&[("count", "5000")]), ResourceSchema::user(), 200)
                .unwrap();
        assert_eq!(query.count, 200);
    }

    #[test]
    fn non_numeric_count_is_invalid_value() {
        let err = ListQuery::from_params(&params(&[("count", "ten")]), ResourceSchema::user(), 200)
            .unwrap_err();
        assert_eq!(err.scim_type(), Some("invalidValue"));
    }

    #[test]
    fn page_past_the_end_is_empty() {
        let query = ListQuery::from_params(
            &params(&[("startIndex", "10")]),
            ResourceSchema::user(),
            100,
        )
        .unwrap();
        let out = query.run(users(3), ResourceSchema::user()).unwrap();
        assert_eq!(out["totalResults"], 3);
        assert_eq!(out["itemsPerPage"], 0);
    }

    #[test]
    fn search_request_needs_its_schema() {
        let err = ListQuery::from_search_request(
            &json!({"filter": "userName eq \"a\""}),
            ResourceSchema::user(),
            10,
        )
        .unwrap_err();
        assert_eq!(err.scim_type(), Some("invalidSyntax"));
    }

    #[test]
    fn search_request_reads_paging_and_attribute_lists() {
        let body = json!({"schemas": [SEARCH_REQUEST_SCHEMA], "attributes": ["userName"],
                          "startIndex": 2, "count": 1, "sortBy": "userName", "sortOrder": "descending"});
        let query = ListQuery::from_search_request(&body, ResourceSchema::user(), 10).unwrap();
        let out = query.run(users(3), ResourceSchema::user()).unwrap();
        assert_eq!(
            out["Resources"],
            json!([{"id": "u2", "userName": "user02"}])
        );
    }

    #[test]
    fn paging_numbers_beyond_the_integer_range_saturate() {
        let query = ListQuery::from_params(
            &params(&[
                ("startIndex", "-99999999999999999999"),
                ("count", "99999999999999999999"),
            ]),
            ResourceSchema::user(),
            200,
        )
        .unwrap();
        assert_eq!((query.start_index, query.count), (1, 200));
        let body = json!({"schemas": [SEARCH_REQUEST_SCHEMA],
                          "startIndex": 1e30, "count": 18446744073709551615u64});
        let query = ListQuery::from_search_request(&body, ResourceSchema::user(), 200).unwrap();
        let past_everything = usize::try_from(i64::MAX).unwrap();
        assert_eq!((query.start_index, query.count), (past_everything, 200));
        let fraction = json!({"schemas": [SEARCH_REQUEST_SCHEMA], "count": 2.5});
        assert!(ListQuery::from_search_request(&fraction, ResourceSchema::user(), 200).is_err());
        assert!(
            ListQuery::from_params(&params(&[("count", "12x")]), ResourceSchema::user(), 200)
                .is_err()
        );
    }

    #[test]
    fn a_root_search_sorts_by_the_type_that_has_the_attribute() {
        let schemas = [ResourceSchema::user(), ResourceSchema::group()];
        let body = json!({"schemas": [SEARCH_REQUEST_SCHEMA], "sortBy": "members.display",
                          "attributes": ["userName"]});
        let queries = ListQuery::from_root_search_request(&body, &schemas, 10).unwrap();
        assert_eq!(queries.len(), 2);
        assert!(queries.iter().all(|query| query.sort.is_some()));
        let unknown = json!({"schemas": [SEARCH_REQUEST_SCHEMA], "sortBy": "shoeSize"});
        assert!(ListQuery::from_root_search_request(&unknown, &schemas, 10).is_err());
    }
}
