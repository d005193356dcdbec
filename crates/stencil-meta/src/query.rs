//! The image listing query: every DescribeImages filter as data, and its translation to SQL.

use stencil_domain::{AccountId, ImageFilter, StatusFilter, TraitCombo};

use crate::db::Arg;

/// Which images a caller may see in a listing. The service fills this from the caller's
/// identity and `ImageOwnerAlias`; the store only applies it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Visibility {
    /// Public catalog images.
    pub system: bool,
    /// Marketplace images.
    pub marketplace: bool,
    /// Custom images owned by this account.
    pub owned_by: Option<AccountId>,
    /// Custom images shared with this account.
    pub shared_with: Option<AccountId>,
    /// Community images (published custom images) not owned by this account.
    pub community_for: Option<AccountId>,
}

/// A DescribeImages query after parsing and validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageQuery {
    /// The region to list.
    pub region: String,
    /// Who may see what.
    pub visibility: Visibility,
    /// Attribute filters.
    pub filter: ImageFilter,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return.
    pub limit: u64,
}

impl ImageQuery {
    /// A query for everything the visibility admits in `region`, Available only, first 10.
    pub fn new(region: &str, visibility: Visibility) -> Self {
        ImageQuery {
            region: region.to_string(),
            visibility,
            filter: ImageFilter::default(),
            offset: 0,
            limit: 10,
        }
    }

    /// The `WHERE` clause (without the keyword) and its arguments.
    pub(crate) fn where_clause(&self) -> (String, Vec<Arg>) {
        let mut w = Where::default();
        w.push("i.region = ?", vec![self.region.as_str().into()]);
        self.push_visibility(&mut w);
        let f = &self.filter;
        if !f.ids.is_empty() {
            w.push_in("i.id", f.ids.iter().map(|s| s.as_str().into()).collect());
        }
        if let Some(n) = &f.name_contains {
            w.push(
                "LOWER(i.name) LIKE ? ESCAPE '\\'",
                vec![like_pattern(n).into()],
            );
        }
        if let Some(f) = &f.family {
            w.push("i.family = ?", vec![f.as_str().into()]);
        }
        if let StatusFilter::Only(list) = &f.statuses {
            w.push_in("i.status", list.iter().map(|s| s.as_str().into()).collect());
        }
        if let Some(o) = f.os_type {
            w.push("i.os_type = ?", vec![o.as_str().into()]);
        }
        if let Some(archs) = &f.architectures {
            w.push_in(
                "i.architecture",
                archs.iter().map(|a| a.as_str().into()).collect(),
            );
        }
        if let Some(combos) = &f.compatible {
            push_combos(&mut w, combos);
        }
        if let Some(s) = &f.snapshot_id {
            w.push(
                "EXISTS (SELECT 1 FROM image_snapshots s WHERE s.region = i.region AND s.image_id = i.id AND s.snapshot_id = ?)",
                vec![s.as_str().into()],
            );
        }
        if let Some(u) = f.usage {
            w.push("i.usage = ?", vec![u.as_str().into()]);
        }
        if let Some(b) = f.is_support_io_optimized {
            w.push("i.io_optimized = ?", vec![b.into()]);
        }
        if let Some(b) = f.is_support_cloudinit {
            w.push("i.cloudinit = ?", vec![b.into()]);
        }
        if let Some(t) = f.created_from {
            w.push("i.created_at >= ?", vec![t.timestamp().into()]);
        }
        if let Some(t) = f.created_to {
            w.push("i.created_at <= ?", vec![t.timestamp().into()]);
        }
        for (k, v) in &f.tags {
            match v {
                Some(v) => w.push(
                    "EXISTS (SELECT 1 FROM image_tags t WHERE t.region = i.region AND t.image_id = i.id AND t.key = ? AND t.value = ?)",
                    vec![k.as_str().into(), v.as_str().into()],
                ),
                None => w.push(
                    "EXISTS (SELECT 1 FROM image_tags t WHERE t.region = i.region AND t.image_id = i.id AND t.key = ?)",
                    vec![k.as_str().into()],
                ),
            }
        }
        if let Some(o) = &f.owner_id {
            w.push("i.owner = ?", vec![o.as_str().into()]);
        }
        if let Some(g) = &f.resource_group_id {
            w.push("i.resource_group_id = ?", vec![g.as_str().into()]);
        }
        for (feature, supported) in &f.online_features {
            let op = if *supported { "LIKE" } else { "NOT LIKE" };
            w.push(
                &format!("i.online_features {op} ?"),
                vec![format!("%,{},%", feature.as_str()).into()],
            );
        }
        w.finish()
    }

    fn push_visibility(&self, w: &mut Where) {
        let v = &self.visibility;
        let mut parts = Vec::new();
        let mut args = Vec::new();
        if v.system {
            parts.push("i.kind = 'public'".to_string());
        }
        if v.marketplace {
            parts.push("i.kind = 'marketplace'".to_string());
        }
        if let Some(a) = &v.owned_by {
            parts.push("(i.kind = 'custom' AND i.owner = ?)".to_string());
            args.push(a.as_str().into());
        }
        if let Some(a) = &v.shared_with {
            parts.push(
                "(i.kind = 'custom' AND EXISTS (SELECT 1 FROM image_shares sh WHERE sh.region = i.region AND sh.image_id = i.id AND sh.account = ?))"
                    .to_string(),
            );
            args.push(a.as_str().into());
        }
        if let Some(a) = &v.community_for {
            parts.push("(i.kind = 'custom' AND i.is_public = 1 AND i.owner <> ?)".to_string());
            args.push(a.as_str().into());
        }
        if parts.is_empty() {
            w.push("1 = 0", vec![]);
        } else {
            w.push(&format!("({})", parts.join(" OR ")), args);
        }
    }
}

/// `(architecture, boot_mode, os_type, nvme)` must be one of `combos`.
fn push_combos(w: &mut Where, combos: &[TraitCombo]) {
    if combos.is_empty() {
        w.push("1 = 0", vec![]);
        return;
    }
    let mut parts = Vec::with_capacity(combos.len());
    let mut args = Vec::with_capacity(combos.len() * 3);
    for c in combos {
        let nvme = if c.nvme {
            "i.nvme_support = 'supported'"
        } else {
            "i.nvme_support <> 'supported'"
        };
        parts.push(format!(
            "(i.architecture = ? AND i.boot_mode = ? AND i.os_type = ? AND {nvme})"
        ));
        args.extend([
            c.architecture.as_str().into(),
            c.boot_mode.as_str().into(),
            c.os_type.as_str().into(),
        ]);
    }
    w.push(&format!("({})", parts.join(" OR ")), args);
}

/// `%needle%` in lower case with LIKE's wildcards escaped.
fn like_pattern(needle: &str) -> String {
    let mut p = String::from("%");
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// A `WHERE` clause under construction: conditions joined by `AND`, with their arguments in
/// placeholder order.
#[derive(Default)]
pub(crate) struct Where {
    sql: Vec<String>,
    args: Vec<Arg>,
}

impl Where {
    pub(crate) fn push(&mut self, clause: &str, args: Vec<Arg>) {
        self.sql.push(clause.to_string());
        self.args.extend(args);
    }

    /// `column IN (…)`; an empty list matches nothing.
    pub(crate) fn push_in(&mut self, column: &str, values: Vec<Arg>) {
        if values.is_empty() {
            self.sql.push("1 = 0".into());
            return;
        }
        let marks = vec!["?"; values.len()].join(", ");
        self.sql.push(format!("{column} IN ({marks})"));
        self.args.extend(values);
    }

    /// The clause (without the keyword; `1 = 1` when empty) and its arguments.
    pub(crate) fn finish(self) -> (String, Vec<Arg>) {
        if self.sql.is_empty() {
            return ("1 = 1".to_string(), self.args);
        }
        (self.sql.join(" AND "), self.args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(like_pattern("A_b%"), "%a\\_b\\%%");
    }

    #[test]
    fn nothing_visible_matches_nothing() {
        let q = ImageQuery::new("r", Visibility::default());
        assert!(q.where_clause().0.contains("1 = 0"));
    }
}
