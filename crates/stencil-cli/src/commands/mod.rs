//! One module per command group, each with the same shape: `run(args, conn)`.
//!
//! Output rule: stdout carries only the result a script captures (IDs, object keys, tables,
//! JSON); progress bars and step notes go to stderr.

pub mod admin;
pub mod images;
pub mod serve;
pub mod tasks;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::cli::{Command, Conn};

/// Runs a parsed command line.
pub async fn run(command: Command) -> Result<()> {
    match command {
        Command::Serve {
            config,
            data_dir,
            listen,
            nbd_listen,
        } => serve::run(config, data_dir, listen, nbd_listen).await,
        Command::Regions { conn } => {
            print_json(&conn.client()?.call("DescribeRegions", &[]).await?)
        }
        Command::Images { command, conn } => images::run(command, &conn).await,
        Command::Tasks { command, conn } => tasks::run(command, &conn).await,
        Command::Admin { command, conn } => admin::run(command, &conn).await,
        Command::Call {
            action,
            params,
            conn,
        } => call(&action, &params, &conn).await,
    }
}

async fn call(action: &str, params: &[String], conn: &Conn) -> Result<()> {
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|p| p.split_once('='))
        .collect::<Option<_>>()
        .context("parameters are KEY=VALUE")?;
    print_json(&conn.client()?.call(action, &pairs).await?)
}

fn print_json(v: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// The items of a wrapped list (`{"Images": {"Image": [...]}}` → `items(body, "Images",
/// "Image")`); empty when absent.
pub fn items<'a>(v: &'a Value, outer: &str, inner: &str) -> &'a [Value] {
    v[outer][inner].as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// A string field, or "" when absent; numbers and booleans as written.
pub fn text(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Formats rows under headers in columns as wide as their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(cell);
            if i + 1 < widths.len() {
                out.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(&mut headers.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn wrapped_lists_unwrap_and_missing_ones_are_empty() {
        let body = json!({"TaskSet": {"Task": [{"TaskId": "t-1"}]}});
        assert_eq!(items(&body, "TaskSet", "Task").len(), 1);
        assert!(items(&body, "Images", "Image").is_empty());
        assert!(items(&json!({"TaskSet": {}}), "TaskSet", "Task").is_empty());
    }

    #[test]
    fn fields_read_as_text_whatever_their_json_type() {
        let v = json!({"Size": 20, "Progress": "37%", "Usable": true});
        assert_eq!(text(&v, "Size"), "20");
        assert_eq!(text(&v, "Progress"), "37%");
        assert_eq!(text(&v, "Usable"), "true");
        assert_eq!(text(&v, "Missing"), "");
    }

    #[test]
    fn tables_align_columns_to_the_widest_cell() {
        let t = table(
            &["Id", "Status"],
            &[
                vec!["m-long-id".into(), "Creating".into()],
                vec!["m-1".into(), "".into()],
            ],
        );
        assert_eq!(t, "Id         Status\nm-long-id  Creating\nm-1\n");
    }
}
