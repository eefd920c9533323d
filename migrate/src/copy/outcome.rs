//! What the copy task said: the `copy-vectors: {json}` lines of `copy_vectors.sh`'s contract,
//! read back from its log stream, and the verdict drawn from them and the container's exit code.

use serde::{Deserialize, Serialize};

/// The prefix of every result line the script prints on stdout.
pub const LINE_PREFIX: &str = "copy-vectors: ";
/// The script's exit code when a bot's target count differs from its source count.
pub const EXIT_MISMATCH: i32 = 3;
/// Log lines kept for a failed task's report: enough for psql's error and its context.
pub const LOG_TAIL_LINES: usize = 20;

/// One bot's rows as the script counted them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotCopy {
    pub bot: String,
    pub source_rows: u64,
    pub target_rows: u64,
    pub copied: u64,
    pub ok: bool,
}

impl BotCopy {
    /// The script's own `ok`, and the counts must agree with it: a row that says ok with
    /// different counts is not believed.
    pub fn matches(&self) -> bool {
        self.ok && self.source_rows == self.target_rows
    }
}

/// The script's last line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopySummary {
    pub bots: u64,
    pub source_rows: u64,
    pub target_rows: u64,
    pub copied: u64,
    pub mismatched: u64,
    pub ok: bool,
}

/// The result lines of a log, and what else it held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedLog {
    pub bots: Vec<BotCopy>,
    pub summary: Option<CopySummary>,
    /// `copy-vectors: ` lines that are not a bot row or a summary (a contract break).
    pub malformed: Vec<String>,
    /// The log's last lines, whatever they are, for a failed task's report.
    pub tail: Vec<String>,
}

/// Reads the log's messages in order. An awslogs event is one line of the container's output, but
/// a message holding several lines is split all the same.
pub fn parse_log<'a>(messages: impl IntoIterator<Item = &'a str>) -> ParsedLog {
    let mut parsed = ParsedLog::default();
    let mut tail = std::collections::VecDeque::with_capacity(LOG_TAIL_LINES);
    for line in messages.into_iter().flat_map(str::lines) {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        if tail.len() == LOG_TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line.to_owned());
        let Some(json) = line.trim_start().strip_prefix(LINE_PREFIX) else {
            continue;
        };
        match parse_result_line(json) {
            Some(ResultLine::Bot(bot)) => parsed.bots.push(bot),
            Some(ResultLine::Summary(summary)) => parsed.summary = Some(summary),
            None => parsed.malformed.push(line.to_owned()),
        }
    }
    parsed.tail = tail.into();
    parsed
}

enum ResultLine {
    Bot(BotCopy),
    Summary(CopySummary),
}

fn parse_result_line(json: &str) -> Option<ResultLine> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    if value.get("summary").and_then(|s| s.as_bool()) == Some(true) {
        serde_json::from_value(value).ok().map(ResultLine::Summary)
    } else if value.get("bot").is_some() {
        serde_json::from_value(value).ok().map(ResultLine::Bot)
    } else {
        None
    }
}

/// How the copy ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyVerdict {
    /// Exit 0, a summary that says ok, and every bot's counts equal.
    AllMatch,
    /// These bots' target counts differ from their source counts.
    Mismatch { bots: Vec<String> },
    /// The task failed before or during the copy, or broke the contract.
    Failed { reason: String },
}

/// Everything the run learned; nothing in it is secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOutcome {
    pub task_arn: String,
    pub log_group: String,
    pub log_stream: String,
    pub bots: Vec<BotCopy>,
    pub summary: Option<CopySummary>,
    pub malformed: Vec<String>,
    pub log_tail: Vec<String>,
    /// The copy container's exit code; none when it never ran (e.g. its secrets could not be read).
    pub exit_code: Option<i32>,
    pub stopped_reason: Option<String>,
    pub container_reason: Option<String>,
    /// Temporary resources that could not be removed, each with how to remove it by hand.
    pub cleanup_problems: Vec<String>,
}

impl CopyOutcome {
    pub fn verdict(&self) -> CopyVerdict {
        let mismatched: Vec<String> = self
            .bots
            .iter()
            .filter(|b| !b.matches())
            .map(|b| b.bot.clone())
            .collect();
        match self.exit_code {
            Some(0) => match &self.summary {
                Some(s) if s.ok && s.mismatched == 0 && mismatched.is_empty() => {
                    CopyVerdict::AllMatch
                }
                Some(_) if !mismatched.is_empty() => CopyVerdict::Mismatch { bots: mismatched },
                Some(s) => CopyVerdict::Failed {
                    reason: format!(
                        "the task exited 0 but its summary says ok={} with {} mismatched bot(s)",
                        s.ok, s.mismatched
                    ),
                },
                None => CopyVerdict::Failed {
                    reason: "the task exited 0 without printing its summary line".into(),
                },
            },
            Some(EXIT_MISMATCH) if !mismatched.is_empty() => {
                CopyVerdict::Mismatch { bots: mismatched }
            }
            Some(EXIT_MISMATCH) => CopyVerdict::Failed {
                reason: format!(
                    "the task exited {EXIT_MISMATCH} (a mismatch) but no bot row shows one{}",
                    self.summary
                        .as_ref()
                        .map(|s| format!("; the summary counts {} mismatched", s.mismatched))
                        .unwrap_or_default()
                ),
            },
            code => {
                let mut parts = Vec::new();
                match code {
                    Some(c) => parts.push(format!("the copy container exited {c}")),
                    None => parts.push("the copy container never ran to an exit code".into()),
                }
                if let Some(r) = &self.stopped_reason {
                    parts.push(format!("task stopped: {r}"));
                }
                if let Some(r) = &self.container_reason {
                    parts.push(r.clone());
                }
                CopyVerdict::Failed {
                    reason: parts.join("; "),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &[&str] = &[
        "copy-vectors: starting",
        "copy-vectors: {\"bot\":\"b1\",\"source_rows\":12,\"target_rows\":12,\"copied\":12,\"ok\":true}",
        "NOTICE:  relation \"items\" already exists, skipping\n",
        "copy-vectors: {\"bot\":\"b2\",\"source_rows\":5,\"target_rows\":4,\"copied\":4,\"ok\":false}",
        "copy-vectors: {\"summary\":true,\"bots\":2,\"source_rows\":17,\"target_rows\":16,\"copied\":16,\"mismatched\":1,\"ok\":false}",
    ];

    fn outcome(lines: &[&str], exit_code: Option<i32>) -> CopyOutcome {
        let parsed = parse_log(lines.iter().copied());
        CopyOutcome {
            task_arn: "arn:task/c/1".into(),
            log_group: "/xtask/copy-vectors".into(),
            log_stream: "copy/copy/1".into(),
            bots: parsed.bots,
            summary: parsed.summary,
            malformed: parsed.malformed,
            log_tail: parsed.tail,
            exit_code,
            stopped_reason: Some("Essential container in task exited".into()),
            container_reason: None,
            cleanup_problems: Vec::new(),
        }
    }

    #[test]
    fn result_lines_become_rows_and_a_summary() {
        let parsed = parse_log(LOG.iter().copied());
        assert_eq!(parsed.bots.len(), 2);
        assert_eq!(parsed.bots[1].bot, "b2");
        assert_eq!(parsed.bots[1].source_rows, 5);
        assert!(!parsed.bots[1].matches());
        let summary = parsed.summary.unwrap();
        assert_eq!((summary.bots, summary.mismatched), (2, 1));
        assert_eq!(parsed.malformed, ["copy-vectors: starting"]);
        assert_eq!(parsed.tail.len(), 5);
        assert!(parsed.tail[2].ends_with("skipping"), "{:?}", parsed.tail);
    }

    #[test]
    fn the_tail_keeps_the_last_lines_only() {
        let lines: Vec<String> = (0..50).map(|i| format!("line {i}")).collect();
        let parsed = parse_log(lines.iter().map(String::as_str));
        assert_eq!(parsed.tail.len(), LOG_TAIL_LINES);
        assert_eq!(parsed.tail.last().unwrap(), "line 49");
    }

    #[test]
    fn verdicts() {
        assert_eq!(
            outcome(&LOG[1..=1], Some(0)).verdict(),
            CopyVerdict::Failed {
                reason: "the task exited 0 without printing its summary line".into()
            }
        );
        let all_ok = [
            LOG[1],
            "copy-vectors: {\"summary\":true,\"bots\":1,\"source_rows\":12,\"target_rows\":12,\"copied\":12,\"mismatched\":0,\"ok\":true}",
        ];
        assert_eq!(outcome(&all_ok, Some(0)).verdict(), CopyVerdict::AllMatch);
        assert_eq!(
            outcome(LOG, Some(EXIT_MISMATCH)).verdict(),
            CopyVerdict::Mismatch {
                bots: vec!["b2".into()]
            }
        );
        // A row that contradicts a successful exit is still a mismatch.
        assert!(matches!(
            outcome(LOG, Some(0)).verdict(),
            CopyVerdict::Mismatch { .. }
        ));
        let CopyVerdict::Failed { reason } = outcome(&[], None).verdict() else {
            panic!()
        };
        assert!(reason.contains("never ran"), "{reason}");
        assert!(reason.contains("Essential container"), "{reason}");
        let CopyVerdict::Failed { reason } = outcome(&all_ok[..1], Some(2)).verdict() else {
            panic!()
        };
        assert!(reason.contains("exited 2"), "{reason}");
    }
}
