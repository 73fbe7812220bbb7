//! How much of a run one invocation does. A periodic run (a whole account) and a change's
//! dependants (every instance using a changed role, every instance of an account after an SSM
//! setting changes) go a page at a time: each page is read, evaluated, recorded, reported and
//! published, then the run's cursor moves past it ([`ResultStore::advance`]). When the
//! invocation's time runs short, the rest is handed to a fresh invocation with the same event
//! ([`Continuation`]), which resumes at the cursor: memory is bounded by a page, an invocation
//! by its deadline, and a run cut off (timeout, crash) is resumed by its retry from its last
//! finished page, not from the start.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::app::ports::{Continuation, PortError, ResultStore};

/// Resources per page, by default: a page's items, their neighbourhoods and their results stay
/// within a few megabytes (`bench/README.md`, "Bounded invocations").
pub const DEFAULT_PAGE: usize = 500;

/// Time kept in hand at the end of an invocation, by default: the longest page measured, with
/// room to spare, plus the hand-off itself.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(30);

/// How long a periodic run leaves a resource's unchanged evaluation in AWS Config before it
/// reports it again, by default.
pub const DEFAULT_REPORT_REFRESH: Duration = Duration::from_secs(7 * 24 * 3600);

/// How much one invocation does, and where the rest goes.
#[derive(Debug)]
pub struct Pace<'a, C> {
    /// When the invocation ends (Lambda's deadline); `None`: no limit (the CLI, unit tests).
    pub deadline: Option<Instant>,
    /// No page is started later than this before the deadline.
    pub margin: Duration,
    /// Resources per page.
    pub page: usize,
    /// A periodic run reports a resource whose evaluation is unchanged only once the rule's last
    /// report of it is this old.
    pub report_refresh: Duration,
    /// Where the rest of a run goes.
    pub continuation: &'a C,
}

/// A [`Continuation`] for runs without a deadline: it is never asked to hand off.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoContinuation;

impl Continuation for NoContinuation {
    async fn hand_off(&self) -> Result<(), PortError> {
        Err(PortError {
            operation: "hand-off",
            message: "this run has no continuation (it has no deadline either)".into(),
            retryable: false,
        })
    }
}

impl Pace<'static, NoContinuation> {
    /// No deadline: every run finishes in the invocation that starts it.
    pub fn unbounded() -> Self {
        Self {
            deadline: None,
            margin: DEFAULT_MARGIN,
            page: DEFAULT_PAGE,
            report_refresh: DEFAULT_REPORT_REFRESH,
            continuation: &NoContinuation,
        }
    }
}

impl<C: Continuation> Pace<'_, C> {
    /// Whether another page may start now.
    pub fn time_left(&self) -> bool {
        self.deadline.is_none_or(|d| Instant::now() + self.margin < d)
    }
}

/// A run's cursor as the store keeps it: `at` is what was read (the expected value of the next
/// [`ResultStore::advance`]), `cursor` its parsed form.
#[derive(Debug)]
pub(crate) struct Progress<T> {
    pub run: String,
    pub at: Option<String>,
    pub cursor: T,
}

impl<T: Serialize + for<'de> Deserialize<'de>> Progress<T> {
    /// Where `run` got to (`start` when it has not started).
    pub async fn read<S: ResultStore>(store: &S, run: &str, start: T) -> Result<Self, PortError> {
        let at = store.progress(run).await?;
        let cursor = match &at {
            Some(s) => serde_json::from_str(s).map_err(|e| PortError {
                operation: "progress",
                message: format!("the run's recorded progress is unreadable: {e}"),
                retryable: false,
            })?,
            None => start,
        };
        Ok(Self {
            run: run.to_owned(),
            at,
            cursor,
        })
    }

    /// Moves past a finished page to `next`; `false`: another invocation of the run moved first.
    pub async fn advance<S: ResultStore>(&mut self, store: &S, next: T) -> Result<bool, PortError> {
        let to = serde_json::to_string(&next).map_err(|e| PortError {
            operation: "progress",
            message: e.to_string(),
            retryable: false,
        })?;
        if !store.advance(&self.run, self.at.as_deref(), &to).await? {
            return Ok(false);
        }
        self.at = Some(to);
        self.cursor = next;
        Ok(true)
    }
}

/// Where a periodic run is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub(crate) enum RunCursor {
    /// The account-level results.
    Account,
    /// The resources of one type, from Config's page `token`.
    Type {
        /// The resource type.
        resource_type: String,
        /// SelectResourceConfig's next token (`None`: the type's first page).
        token: Option<String>,
    },
    /// Results recorded before for resources Config no longer has, after the resource `after`
    /// (region, type, id).
    Gone {
        /// The last resource checked.
        after: Option<(String, String, String)>,
    },
    /// Finished.
    Done,
}

/// Where a change's re-evaluation is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub(crate) enum FanOutCursor {
    /// The changed resources themselves.
    Changed,
    /// Their dependants, in key order, after `after` (type, id).
    Dependants {
        /// The last dependant evaluated.
        after: Option<(String, String)>,
    },
    /// Finished.
    Done,
}
