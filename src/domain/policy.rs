//! A project's policies on what its keys may use: which models (an allow list or a deny list),
//! which hosted tools, and how fast (a rate limit per model of the model catalogue, within the
//! organization's, which the catalogue sets).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::gateway::HOSTED_TOOLS;
use super::name::NameRule;
use super::page::Page;
use super::{Error, Result};

/// How a project's model list is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelMode {
    /// Only the listed models.
    AllowList,
    /// Every model but the listed ones.
    DenyList,
}

impl ModelMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelMode::AllowList => "allow_list",
            ModelMode::DenyList => "deny_list",
        }
    }

    pub fn parse(mode: &str) -> Option<ModelMode> {
        match mode {
            "allow_list" => Some(ModelMode::AllowList),
            "deny_list" => Some(ModelMode::DenyList),
            _ => None,
        }
    }
}

/// A project's model permissions. A project without any allows every model, which reads as an
/// empty deny list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelPermissions {
    pub mode: ModelMode,
    pub model_ids: Vec<String>,
}

impl Default for ModelPermissions {
    fn default() -> Self {
        ModelPermissions {
            mode: ModelMode::DenyList,
            model_ids: Vec::new(),
        }
    }
}

impl ModelPermissions {
    /// Checks the ids (each a model name: no blanks or control characters), de-duplicated in the
    /// order given.
    pub fn new(mode: ModelMode, model_ids: &[String]) -> Result<ModelPermissions> {
        let mut seen = BTreeSet::new();
        let mut ids = Vec::with_capacity(model_ids.len());
        for (i, id) in model_ids.iter().enumerate() {
            let id = NameRule {
                called: "A model id",
                param: "model_ids",
                min_chars: 1,
                max_chars: 256,
            }
            .check(id)
            .map_err(|e| Error::invalid(e.to_string(), format!("model_ids[{i}]")))?;
            if seen.insert(id.clone()) {
                ids.push(id);
            }
        }
        Ok(ModelPermissions {
            mode,
            model_ids: ids,
        })
    }

    pub fn allows(&self, model: &str) -> bool {
        let listed = self.model_ids.iter().any(|m| m == model);
        match self.mode {
            ModelMode::AllowList => listed,
            ModelMode::DenyList => !listed,
        }
    }
}

/// The hosted tools a project has turned off; every other is on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolPermissions {
    pub disabled: BTreeSet<String>,
}

impl ToolPermissions {
    pub fn enabled(&self, tool: &str) -> bool {
        !self.disabled.contains(tool)
    }

    /// These permissions with `changes` (tool, enabled) applied; every tool must be a hosted tool.
    pub fn with(&self, changes: &[(&str, bool)]) -> Result<ToolPermissions> {
        let mut disabled = self.disabled.clone();
        for (tool, enabled) in changes {
            if !HOSTED_TOOLS.contains(tool) {
                return Err(Error::invalid(
                    format!("Unknown hosted tool '{tool}'."),
                    (*tool).to_owned(),
                ));
            }
            if *enabled {
                disabled.remove(*tool);
            } else {
                disabled.insert((*tool).to_owned());
            }
        }
        Ok(ToolPermissions { disabled })
    }
}

/// A project's model and tool permissions, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policies {
    /// `None`: the project has no model permissions (every model).
    pub models: Option<ModelPermissions>,
    pub tools: ToolPermissions,
}

impl Policies {
    /// From the columns of `project_policies` (all `NULL` when the project has no row).
    pub fn from_stored(
        model_mode: Option<&str>,
        model_ids: Option<&str>,
        disabled_tools: Option<&str>,
    ) -> Policies {
        let parse = |json: Option<&str>| -> Vec<String> {
            json.and_then(|j| serde_json::from_str(j).ok())
                .unwrap_or_default()
        };
        Policies {
            models: model_mode
                .and_then(ModelMode::parse)
                .map(|mode| ModelPermissions {
                    mode,
                    model_ids: parse(model_ids),
                }),
            tools: ToolPermissions {
                disabled: parse(disabled_tools).into_iter().collect(),
            },
        }
    }
}

/// A model's rate limits, as the contract's `ProjectRateLimit` holds them (less `object` and
/// `id`). The optional ones apply only to the models that have them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub model: String,
    pub max_requests_per_1_minute: i64,
    pub max_tokens_per_1_minute: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_images_per_1_minute: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_audio_megabytes_per_1_minute: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests_per_1_day: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_1_day_max_input_tokens: Option<i64>,
}

/// The values a project sets for one model; each at most the organization's (the catalogue's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitValues {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests_per_1_minute: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens_per_1_minute: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_images_per_1_minute: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_audio_megabytes_per_1_minute: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests_per_1_day: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_1_day_max_input_tokens: Option<i64>,
}

/// Rate limit ids name their model, as the real service's do (`rl-gpt-4o`).
pub const RATE_LIMIT_PREFIX: &str = "rl-";

/// The limits' names, in the order `RateLimitValues::array` gives them.
const LIMITS: [&str; 6] = [
    "max_requests_per_1_minute",
    "max_tokens_per_1_minute",
    "max_images_per_1_minute",
    "max_audio_megabytes_per_1_minute",
    "max_requests_per_1_day",
    "batch_1_day_max_input_tokens",
];

impl RateLimitValues {
    /// The values in the order of `LIMITS`.
    fn array(&self) -> [Option<i64>; 6] {
        [
            self.max_requests_per_1_minute,
            self.max_tokens_per_1_minute,
            self.max_images_per_1_minute,
            self.max_audio_megabytes_per_1_minute,
            self.max_requests_per_1_day,
            self.batch_1_day_max_input_tokens,
        ]
    }

    fn from_array(values: [Option<i64>; 6]) -> RateLimitValues {
        let [requests, tokens, images, audio, requests_per_day, batch] = values;
        RateLimitValues {
            max_requests_per_1_minute: requests,
            max_tokens_per_1_minute: tokens,
            max_images_per_1_minute: images,
            max_audio_megabytes_per_1_minute: audio,
            max_requests_per_1_day: requests_per_day,
            batch_1_day_max_input_tokens: batch,
        }
    }

    /// These values where set, `under` where not.
    fn over(&self, under: &RateLimitValues) -> RateLimitValues {
        let (over, under) = (self.array(), under.array());
        RateLimitValues::from_array(std::array::from_fn(|i| over[i].or(under[i])))
    }
}

impl RateLimit {
    pub fn id(&self) -> String {
        format!("{RATE_LIMIT_PREFIX}{}", self.model)
    }

    fn values(&self) -> RateLimitValues {
        RateLimitValues {
            max_requests_per_1_minute: Some(self.max_requests_per_1_minute),
            max_tokens_per_1_minute: Some(self.max_tokens_per_1_minute),
            max_images_per_1_minute: self.max_images_per_1_minute,
            max_audio_megabytes_per_1_minute: self.max_audio_megabytes_per_1_minute,
            max_requests_per_1_day: self.max_requests_per_1_day,
            batch_1_day_max_input_tokens: self.batch_1_day_max_input_tokens,
        }
    }

    /// What a project's values make of this (the organization's) limit.
    pub fn with(&self, values: &RateLimitValues) -> RateLimit {
        let merged = values.over(&self.values());
        RateLimit {
            model: self.model.clone(),
            max_requests_per_1_minute: merged
                .max_requests_per_1_minute
                .unwrap_or(self.max_requests_per_1_minute),
            max_tokens_per_1_minute: merged
                .max_tokens_per_1_minute
                .unwrap_or(self.max_tokens_per_1_minute),
            max_images_per_1_minute: merged.max_images_per_1_minute,
            max_audio_megabytes_per_1_minute: merged.max_audio_megabytes_per_1_minute,
            max_requests_per_1_day: merged.max_requests_per_1_day,
            batch_1_day_max_input_tokens: merged.batch_1_day_max_input_tokens,
        }
    }

    /// `update` merged into a project's `current` values, each checked against this limit: a
    /// project cannot go above its organization, nor set a limit its model does not have.
    pub fn check(
        &self,
        current: &RateLimitValues,
        update: &RateLimitValues,
    ) -> Result<RateLimitValues> {
        let ceilings = self.values().array();
        for ((field, value), ceiling) in LIMITS.iter().zip(update.array()).zip(ceilings) {
            let Some(value) = value else { continue };
            let Some(ceiling) = ceiling else {
                return Err(Error::invalid(
                    format!("Model '{}' has no {field} limit.", self.model),
                    *field,
                ));
            };
            if !(1..=ceiling).contains(&value) {
                return Err(Error::invalid(
                    format!(
                        "Invalid '{field}': expected an integer between 1 and {ceiling} (the \
                         organization's limit for '{}'), but got {value} instead.",
                        self.model
                    ),
                    *field,
                ));
            }
        }
        Ok(update.over(current))
    }
}

/// The models Roster knows, each with the organization's rate limits: the built-in list of
/// current OpenAI models, or a file of the same shape (`--models`). Ordered by model id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelCatalogue {
    models: BTreeMap<String, RateLimit>,
}

const BUILT_IN: &str = include_str!("models.json");

impl ModelCatalogue {
    pub fn built_in() -> ModelCatalogue {
        ModelCatalogue::parse(BUILT_IN).unwrap_or_else(|_| ModelCatalogue {
            models: BTreeMap::new(),
        })
    }

    /// A catalogue from JSON: an array of rate limits, one per model (`model`,
    /// `max_requests_per_1_minute`, `max_tokens_per_1_minute`, and the optional ones).
    pub fn parse(json: &str) -> std::result::Result<ModelCatalogue, String> {
        let limits: Vec<RateLimit> = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let mut models = BTreeMap::new();
        for limit in limits {
            let values = limit.values().array();
            let id_ok = !limit.model.is_empty()
                && !limit
                    .model
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control());
            if !id_ok || values.into_iter().flatten().any(|v| v < 1) {
                return Err(format!(
                    "model '{}': a model id (no spaces) and limits of at least 1",
                    limit.model
                ));
            }
            if models.insert(limit.model.clone(), limit).is_some() {
                return Err("a model is listed twice".into());
            }
        }
        Ok(ModelCatalogue { models })
    }

    pub fn get(&self, model: &str) -> Option<&RateLimit> {
        self.models.get(model)
    }

    /// The limit behind a rate limit id (`rl-<model>`).
    pub fn by_id(&self, id: &str) -> Option<&RateLimit> {
        id.strip_prefix(RATE_LIMIT_PREFIX).and_then(|m| self.get(m))
    }

    /// A page of up to `limit` limits in id order: the first, the one after `after`, or the one
    /// just before `before` (ids). `has_more`: more follow it (or, with `before`, precede it).
    pub fn page(
        &self,
        after: Option<&str>,
        before: Option<&str>,
        limit: usize,
    ) -> Page<&RateLimit> {
        use std::ops::Bound::{Excluded, Unbounded};
        let model = |id: &str| id.strip_prefix(RATE_LIMIT_PREFIX).unwrap_or(id).to_owned();
        if let (None, Some(before)) = (after, before) {
            let mut earlier: Vec<&RateLimit> = self
                .models
                .range::<String, _>((Unbounded, Excluded(model(before))))
                .rev()
                .map(|(_, l)| l)
                .take(limit + 1)
                .collect();
            let has_more = earlier.len() > limit;
            earlier.truncate(limit);
            earlier.reverse();
            return Page {
                items: earlier,
                has_more,
            };
        }
        let start = after.map_or(Unbounded, |after| Excluded(model(after)));
        let rows = self
            .models
            .range::<String, _>((start, Unbounded))
            .map(|(_, l)| l)
            .take(limit + 1)
            .collect();
        Page::from_overfetch(rows, i64::try_from(limit).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_and_deny_lists() {
        let ids = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let allow =
            ModelPermissions::new(ModelMode::AllowList, &ids(&["gpt-4o", "o3", "gpt-4o"])).unwrap();
        assert_eq!(allow.model_ids, ids(&["gpt-4o", "o3"]));
        assert!(allow.allows("o3") && !allow.allows("gpt-5"));
        let deny = ModelPermissions::new(ModelMode::DenyList, &ids(&["gpt-5"])).unwrap();
        assert!(!deny.allows("gpt-5") && deny.allows("o3"));
        assert!(ModelPermissions::default().allows("anything"));
        assert!(ModelPermissions::new(ModelMode::AllowList, &ids(&["ok", " "])).is_err());
    }

    #[test]
    fn stored_policies_read_back_as_written() {
        for mode in [ModelMode::AllowList, ModelMode::DenyList] {
            assert_eq!(ModelMode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(ModelMode::AllowList.as_str(), "allow_list");
        assert_eq!(ModelMode::parse("block_list"), None);
        let stored =
            Policies::from_stored(Some("deny_list"), Some(r#"["gpt-5"]"#), Some(r#"["mcp"]"#));
        assert_eq!(
            stored.models,
            Some(ModelPermissions {
                mode: ModelMode::DenyList,
                model_ids: vec!["gpt-5".into()],
            })
        );
        assert!(!stored.tools.enabled("mcp") && stored.tools.enabled("web_search"));
        assert_eq!(Policies::from_stored(None, None, None), Policies::default());
    }

    #[test]
    fn tools_are_on_until_turned_off() {
        let off = ToolPermissions::default()
            .with(&[("web_search", false)])
            .unwrap();
        assert!(!off.enabled("web_search") && off.enabled("mcp"));
        assert!(
            off.with(&[("web_search", true)])
                .unwrap()
                .enabled("web_search")
        );
        assert!(off.with(&[("teleport", false)]).is_err());
    }

    #[test]
    fn a_projects_limit_stays_within_the_organizations() {
        let catalogue = ModelCatalogue::built_in();
        let image = catalogue.get("gpt-image-1").unwrap();
        let set = RateLimitValues {
            max_requests_per_1_minute: Some(10),
            max_images_per_1_minute: Some(2),
            ..RateLimitValues::default()
        };
        let values = image.check(&RateLimitValues::default(), &set).unwrap();
        let effective = image.with(&values);
        assert_eq!(
            (
                effective.max_requests_per_1_minute,
                effective.max_images_per_1_minute
            ),
            (10, Some(2))
        );
        assert_eq!(
            effective.max_tokens_per_1_minute,
            image.max_tokens_per_1_minute
        );
        let above = RateLimitValues {
            max_requests_per_1_minute: Some(image.max_requests_per_1_minute + 1),
            ..RateLimitValues::default()
        };
        assert!(image.check(&values, &above).is_err());
        let zero = RateLimitValues {
            max_tokens_per_1_minute: Some(0),
            ..RateLimitValues::default()
        };
        assert!(image.check(&values, &zero).is_err());
        let no_audio = RateLimitValues {
            max_audio_megabytes_per_1_minute: Some(1),
            ..RateLimitValues::default()
        };
        assert!(
            image.check(&values, &no_audio).is_err(),
            "an image model has no audio limit"
        );
    }

    #[test]
    fn the_catalogue_pages_by_id_both_ways() {
        let catalogue = ModelCatalogue::built_in();
        let ids = |page: Page<&RateLimit>| {
            (
                page.items.iter().map(|l| l.id()).collect::<Vec<_>>(),
                page.has_more,
            )
        };
        let (first, more) = ids(catalogue.page(None, None, 2));
        assert_eq!((first.len(), more), (2, true));
        let (next, _) = ids(catalogue.page(Some(&first[1]), None, 2));
        assert!(next[0] > first[1]);
        assert_eq!(
            ids(catalogue.page(None, Some(&next[0]), 5)),
            (first.clone(), false)
        );
        assert_eq!(
            ids(catalogue.page(None, Some(&next[0]), 1)),
            (first[1..].to_vec(), true)
        );
        // Exactly a page before: nothing precedes it.
        assert_eq!(
            ids(catalogue.page(None, Some(&next[0]), 2)),
            (first.clone(), false)
        );
        let gpt_4o = catalogue.get("gpt-4o").unwrap();
        assert_eq!(catalogue.by_id(&gpt_4o.id()), Some(gpt_4o));
        assert_eq!(catalogue.by_id("gpt-4o"), None, "an id, not a model");
        let (all, more) = ids(catalogue.page(None, None, 1000));
        assert!(!more && all.windows(2).all(|w| w[0] < w[1]));
        assert!(ModelCatalogue::parse("[{\"model\": \"m\", \"max_requests_per_1_minute\": 0, \"max_tokens_per_1_minute\": 1}]").is_err());
        assert!(
            ModelCatalogue::parse("[{\"model\": \"m\", \"max_requests_per_1_minute\": 1}]")
                .is_err()
        );
        let named = |model: &str| {
            ModelCatalogue::parse(&format!(
                r#"[{{"model": "{model}", "max_requests_per_1_minute": 1, "max_tokens_per_1_minute": 1}}]"#
            ))
        };
        assert!(named("gpt-4o").unwrap().get("gpt-4o").is_some());
        for bad in ["", "gpt 4o", "gpt\t4o"] {
            assert!(named(bad).is_err(), "{bad:?}");
        }
    }
}
