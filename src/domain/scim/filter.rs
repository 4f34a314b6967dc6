//! Filters (RFC 7644 §3.4.2.2), read by `scim_v2`'s grammar, turned into conditions on the
//! columns the store serves from its indexes.

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};

use super::*;
use crate::domain::name;

/// A column a filter may name; the store maps each to an indexed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Id,
    UserName,
    ExternalId,
    Email,
    DisplayName,
    Active,
    Created,
    LastModified,
    /// A group's members, by their user ids: true of a group if true of any member.
    Member,
}

impl Column {
    /// The attribute's name, as filters write it.
    pub fn attribute(self) -> &'static str {
        match self {
            Column::Id => "id",
            Column::UserName => "userName",
            Column::ExternalId => "externalId",
            Column::Email => "emails.value",
            Column::DisplayName => "displayName",
            Column::Active => "active",
            Column::Created => "meta.created",
            Column::LastModified => "meta.lastModified",
            Column::Member => "members",
        }
    }

    /// Whether the column holds text (else a flag or a time).
    pub fn is_text(self) -> bool {
        !matches!(
            self,
            Column::Active | Column::Created | Column::LastModified
        )
    }

    /// Whether comparisons ignore case (RFC 7643's `caseExact: false`).
    pub fn ignores_case(self) -> bool {
        matches!(self, Column::UserName | Column::Email | Column::DisplayName)
    }
}

/// A value a condition compares with, already in the column's form.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Text(String),
    Integer(i64),
}

/// A comparison operator of the filter grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl From<&CompareOp> for Op {
    fn from(op: &CompareOp) -> Op {
        match op {
            CompareOp::Eq => Op::Eq,
            CompareOp::Ne => Op::Ne,
            CompareOp::Co => Op::Co,
            CompareOp::Sw => Op::Sw,
            CompareOp::Ew => Op::Ew,
            CompareOp::Gt => Op::Gt,
            CompareOp::Ge => Op::Ge,
            CompareOp::Lt => Op::Lt,
            CompareOp::Le => Op::Le,
        }
    }
}

/// A filter, as conditions on columns.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Compare(Column, Op, Operand),
    Present(Column),
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    /// Whether, by its shape, the condition is likely to match most rows (`ne`, `pr`, `not` of a
    /// narrow one): counting the rows it does not match is then likely the cheaper way to count.
    pub fn is_broad(&self) -> bool {
        match self {
            Condition::Compare(_, Op::Ne, _) | Condition::Present(_) => true,
            Condition::Compare(..) => false,
            Condition::And(items) => items.iter().all(Condition::is_broad),
            Condition::Or(items) => items.iter().any(Condition::is_broad),
            Condition::Not(inner) => !inner.is_broad(),
        }
    }
}

/// Which resource a filter is for: the attributes it may name differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    User,
    Group,
}

/// Parses `filter` by SCIM's grammar and maps its attributes to columns.
pub fn parse_filter(filter: &str, resource: Resource) -> ScimResult<Condition> {
    let parsed: Filter = filter
        .parse()
        .map_err(|e| ScimError::bad("invalidFilter", format!("The filter cannot be read: {e}")))?;
    condition(&parsed, resource)
}

fn condition(filter: &Filter, resource: Resource) -> ScimResult<Condition> {
    match filter {
        Filter::Attr(exp) => attr_condition(exp, resource, None),
        Filter::ValuePath(path) => val_condition(&path.filter, resource, &path.attr),
        Filter::Not(inner) => Ok(Condition::Not(Box::new(condition(inner, resource)?))),
        Filter::And(items) => Ok(Condition::And(
            items
                .iter()
                .map(|f| condition(f, resource))
                .collect::<ScimResult<_>>()?,
        )),
        Filter::Or(items) => Ok(Condition::Or(
            items
                .iter()
                .map(|f| condition(f, resource))
                .collect::<ScimResult<_>>()?,
        )),
    }
}

/// `emails[type eq "work" and value co "@example.com"]`: the conditions inside, on the parent.
fn val_condition(
    filter: &ValFilter,
    resource: Resource,
    parent: &AttrPath,
) -> ScimResult<Condition> {
    match filter {
        ValFilter::Attr(exp) => attr_condition(exp, resource, Some(parent)),
        ValFilter::Not(inner) => Ok(Condition::Not(Box::new(val_condition(
            inner, resource, parent,
        )?))),
        ValFilter::And(items) => Ok(Condition::And(
            items
                .iter()
                .map(|f| val_condition(f, resource, parent))
                .collect::<ScimResult<_>>()?,
        )),
        ValFilter::Or(items) => Ok(Condition::Or(
            items
                .iter()
                .map(|f| val_condition(f, resource, parent))
                .collect::<ScimResult<_>>()?,
        )),
    }
}

fn attr_condition(
    exp: &AttrExp,
    resource: Resource,
    parent: Option<&AttrPath>,
) -> ScimResult<Condition> {
    let path = match exp {
        AttrExp::Present(path) | AttrExp::Comparison(path, _, _) => path,
    };
    let column = column(path, resource, parent)?;
    match exp {
        AttrExp::Present(_) => Ok(Condition::Present(column)),
        AttrExp::Comparison(_, op, value) => {
            let op = Op::from(op);
            Ok(Condition::Compare(column, op, operand(column, op, value)?))
        }
    }
}

fn column(path: &AttrPath, resource: Resource, parent: Option<&AttrPath>) -> ScimResult<Column> {
    let (name, sub) = match parent {
        Some(parent) => (parent.name.as_str(), Some(path.name.as_str())),
        None => (path.name.as_str(), path.sub_attr.as_deref()),
    };
    let is = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let found = match (resource, name, sub) {
        (_, n, None) if is(n, "id") => Some(Column::Id),
        (_, n, None) if is(n, "externalId") => Some(Column::ExternalId),
        (_, n, None) if is(n, "displayName") => Some(Column::DisplayName),
        (_, n, Some(s)) if is(n, "meta") && is(s, "lastModified") => Some(Column::LastModified),
        (_, n, Some(s)) if is(n, "meta") && is(s, "created") => Some(Column::Created),
        (Resource::User, n, None) if is(n, "userName") => Some(Column::UserName),
        (Resource::User, n, None) if is(n, "active") => Some(Column::Active),
        (Resource::User, n, None) if is(n, "emails") => Some(Column::Email),
        (Resource::User, n, Some(s)) if is(n, "emails") && is(s, "value") => Some(Column::Email),
        // Entra ID asks whether a group has a member: `id eq "..." and members eq "..."`.
        (Resource::Group, n, None) if is(n, "members") => Some(Column::Member),
        (Resource::Group, n, Some(s)) if is(n, "members") && is(s, "value") => Some(Column::Member),
        _ => None,
    };
    found.ok_or_else(|| {
        let named = match sub {
            Some(sub) => format!("{name}.{sub}"),
            None => name.to_owned(),
        };
        ScimError::bad(
            "invalidFilter",
            format!("Roster cannot filter on '{named}'."),
        )
    })
}

fn operand(column: Column, op: Op, value: &CompValue) -> ScimResult<Operand> {
    let wrong = |what: &str| {
        ScimError::bad(
            "invalidFilter",
            format!("'{}' is compared with {what}.", column.attribute()),
        )
    };
    match column {
        Column::Active => match (value, op) {
            (CompValue::True, Op::Eq | Op::Ne) => Ok(Operand::Integer(1)),
            (CompValue::False, Op::Eq | Op::Ne) => Ok(Operand::Integer(0)),
            _ => Err(wrong("true or false, by eq or ne")),
        },
        // A time is compared by its order (RFC 7644 §3.4.2.2); a part of one is no time, and
        // "the specified attribute and filter comparison combination is not supported".
        Column::Created | Column::LastModified => {
            let not_a_time = || {
                wrong("a date and time such as 2026-11-30T12:00:00Z, by eq, ne, gt, ge, lt or le")
            };
            match (value, op) {
                (CompValue::Str(text), Op::Eq | Op::Ne | Op::Gt | Op::Ge | Op::Lt | Op::Le) => {
                    parse_date_time(text)
                        .map(Operand::Integer)
                        .ok_or_else(not_a_time)
                }
                _ => Err(not_a_time()),
            }
        }
        // A member is found by her user id's own index; a part or a range of ids would read
        // every organization's memberships.
        Column::Member => match (value, op) {
            (CompValue::Str(text), Op::Eq | Op::Ne) => Ok(Operand::Text(text.clone())),
            _ => Err(wrong("a user id, by eq or ne")),
        },
        _ => match value {
            CompValue::Str(text) if column.ignores_case() => Ok(Operand::Text(name::folded(text))),
            CompValue::Str(text) => Ok(Operand::Text(text.clone())),
            _ => Err(wrong("a string")),
        },
    }
}

fn parse_date_time(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_filterable_attribute_names_its_column_whatever_its_case() {
        let compare = |filter: &str, resource| match parse_filter(filter, resource) {
            Ok(Condition::Compare(column, op, operand)) => (column, op, operand),
            other => panic!("{filter}: {other:?}"),
        };
        let text = |t: &str| Operand::Text(t.into());
        for (filter, column, operand) in [
            (r#"ID eq "User-AB""#, Column::Id, text("User-AB")),
            (
                r#"externalId eq "X-Ada""#,
                Column::ExternalId,
                text("X-Ada"),
            ),
            (
                r#"DisplayName eq "Ada L""#,
                Column::DisplayName,
                text("ada l"),
            ),
            (r#"userName eq "ADA""#, Column::UserName, text("ada")),
            (r#"emails eq "A@X.test""#, Column::Email, text("a@x.test")),
            (
                r#"Emails.Value eq "A@X.test""#,
                Column::Email,
                text("a@x.test"),
            ),
            (
                r#"meta.created eq "1970-01-01T00:01:00Z""#,
                Column::Created,
                Operand::Integer(60),
            ),
            (r#"active eq false"#, Column::Active, Operand::Integer(0)),
            (r#"active eq true"#, Column::Active, Operand::Integer(1)),
        ] {
            assert_eq!(
                compare(filter, Resource::User),
                (column, Op::Eq, operand),
                "{filter}"
            );
        }
        assert_eq!(
            compare("active ne false", Resource::User),
            (Column::Active, Op::Ne, Operand::Integer(0))
        );
        assert_eq!(
            compare(r#"displayName eq "Team""#, Resource::Group).0,
            Column::DisplayName
        );
        // A group's members by user id, as Entra ID asks, exactly.
        for filter in [
            r#"members eq "User-AB""#,
            r#"Members.Value eq "User-AB""#,
            r#"members[value eq "User-AB"]"#,
        ] {
            assert_eq!(
                compare(filter, Resource::Group),
                (Column::Member, Op::Eq, text("User-AB")),
                "{filter}"
            );
        }
        assert_eq!(
            compare(r#"members ne "user-ab""#, Resource::Group),
            (Column::Member, Op::Ne, text("user-ab"))
        );
        for (filter, resource) in [
            (r#"members eq "user-ab""#, Resource::User),
            (r#"members co "user-ab""#, Resource::Group),
            (r#"members.value gt "user-ab""#, Resource::Group),
            (r#"members.display eq "Ada""#, Resource::Group),
            (r#"userName eq "a""#, Resource::Group),
            ("active eq true", Resource::Group),
            (r#"emails eq "a@x.test""#, Resource::Group),
            (r#"emails.type eq "work""#, Resource::User),
            (r#"meta.version eq "1""#, Resource::User),
            (r#"name.created eq "1970-01-01T00:00:00Z""#, Resource::User),
            (r#"id.value eq "a""#, Resource::User),
        ] {
            let refused = parse_filter(filter, resource).unwrap_err();
            assert_eq!(refused.scim_type, Some("invalidFilter"), "{filter}");
        }
    }

    #[test]
    fn filters_map_to_columns_by_the_grammar() {
        let parsed = parse_filter(
            r#"userName eq "Ada@Example.com" and (active eq true or not (externalId pr))"#,
            Resource::User,
        )
        .unwrap();
        assert_eq!(
            parsed,
            Condition::And(vec![
                Condition::Compare(
                    Column::UserName,
                    Op::Eq,
                    Operand::Text("ada@example.com".into())
                ),
                Condition::Or(vec![
                    Condition::Compare(Column::Active, Op::Eq, Operand::Integer(1)),
                    Condition::Not(Box::new(Condition::Present(Column::ExternalId))),
                ]),
            ])
        );
        assert_eq!(
            parse_filter(r#"emails[value ew "@example.com"]"#, Resource::User).unwrap(),
            Condition::Compare(Column::Email, Op::Ew, Operand::Text("@example.com".into()))
        );
        assert_eq!(
            parse_filter(
                r#"meta.lastModified gt "2026-11-30T00:00:00Z""#,
                Resource::User
            )
            .unwrap(),
            Condition::Compare(
                Column::LastModified,
                Op::Gt,
                Operand::Integer(1_795_996_800)
            )
        );
        for (bad, why) in [
            ("userName eq", "no value"),
            (r#"userName eq "a" and"#, "dangling and"),
            (r#"title eq "x""#, "an attribute Roster does not keep"),
            (r#"active gt true"#, "active is compared by eq"),
            (r#"userName eq "a""#, "userName is a User's"),
        ] {
            let resource = if why.contains("User's") {
                Resource::Group
            } else {
                Resource::User
            };
            let error = parse_filter(bad, resource).unwrap_err();
            assert_eq!(error.scim_type, Some("invalidFilter"), "{bad}: {why}");
        }
    }

    #[test]
    fn ne_pr_and_not_of_a_narrow_filter_are_broad() {
        let broad = |filter: &str| parse_filter(filter, Resource::User).unwrap().is_broad();
        for filter in [
            r#"userName ne "a""#,
            "externalId pr",
            r#"not (userName sw "a")"#,
            r#"userName ne "a" and externalId pr"#,
            r#"userName eq "a" or externalId pr"#,
            r#"not (not (userName ne "a"))"#,
        ] {
            assert!(broad(filter), "{filter}");
        }
        for filter in [
            r#"userName eq "a""#,
            r#"userName co "a""#,
            r#"meta.lastModified gt "2026-11-30T00:00:00Z""#,
            r#"userName ne "a" and externalId eq "b""#,
            r#"userName eq "a" or externalId eq "b""#,
            "not (externalId pr)",
        ] {
            assert!(!broad(filter), "{filter}");
        }
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_refused_naming_the_attribute_as_written() {
        for (filter, detail) in [
            (
                r#"meta.lastModified gt "yesterday""#,
                "'meta.lastModified' is compared with a date and time such as 2026-11-30T12:00:00Z, by eq, ne, gt, ge, lt or le.",
            ),
            (
                r#"meta.created sw "2026-11-30T12:00:00Z""#,
                "'meta.created' is compared with a date and time such as 2026-11-30T12:00:00Z, by eq, ne, gt, ge, lt or le.",
            ),
            (
                "active gt true",
                "'active' is compared with true or false, by eq or ne.",
            ),
            (
                "emails[value eq 12]",
                "'emails.value' is compared with a string.",
            ),
        ] {
            let refused = parse_filter(filter, Resource::User).unwrap_err();
            assert_eq!(refused.scim_type, Some("invalidFilter"), "{filter}");
            assert_eq!(refused.detail, detail, "{filter}");
        }
    }
}
