//! What the controllers announce as Kubernetes events: one [`Announcement`] (a reason from a
//! bounded set, a note, `Normal` or `Warning`) whatever the capability, and [`publish`], which
//! sends it through the shared `Recorder` — best effort, as events are in Kubernetes. The pure
//! status builders of `govcloud_core` return their own shapes; `From` turns each into one.

use std::borrow::Cow;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::runtime::events::{Event, EventType, Recorder};

/// The longest note published, in bytes; a longer one is cut at a character boundary and ends
/// with `…`.
pub const MAX_NOTE_BYTES: usize = 1000;

/// Whether an announcement is routine or asks for attention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// `Normal`: progress, recovery.
    Normal,
    /// `Warning`: something failed or degraded.
    Warning,
}

impl Severity {
    /// `Warning` when `warning`, else `Normal`.
    pub fn warning_if(warning: bool) -> Self {
        if warning { Self::Warning } else { Self::Normal }
    }

    fn event_type(self) -> EventType {
        match self {
            Self::Normal => EventType::Normal,
            Self::Warning => EventType::Warning,
        }
    }
}

/// One event to publish about an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announcement {
    /// `Normal` or `Warning`.
    pub severity: Severity,
    /// CamelCase reason from a bounded set (a category, never an object's name). Most are
    /// static; those read back from a condition (whose reason the API stores as a string) are
    /// owned.
    pub reason: Cow<'static, str>,
    /// What happened, for people.
    pub note: String,
}

impl Announcement {
    /// A `Normal` announcement.
    pub fn normal(reason: impl Into<Cow<'static, str>>, note: impl Into<String>) -> Self {
        Self {
            severity: Severity::Normal,
            reason: reason.into(),
            note: note.into(),
        }
    }

    /// A `Warning` announcement.
    pub fn warning(reason: impl Into<Cow<'static, str>>, note: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            reason: reason.into(),
            note: note.into(),
        }
    }

    /// A condition's reason and message, with `severity`.
    pub fn of_condition(severity: Severity, condition: &Condition) -> Self {
        Self {
            severity,
            reason: Cow::Owned(condition.reason.clone()),
            note: condition.message.clone(),
        }
    }

    /// The note, cut to [`MAX_NOTE_BYTES`].
    fn bounded_note(&self) -> String {
        let mut note = self.note.clone();
        if note.len() > MAX_NOTE_BYTES {
            let mut end = MAX_NOTE_BYTES;
            while !note.is_char_boundary(end) {
                end -= 1;
            }
            note.truncate(end);
            note.push('…');
        }
        note
    }
}

/// `(warning, reason, note)`, the shape of the routers' and address pools' builders.
impl From<(bool, &'static str, String)> for Announcement {
    fn from((warning, reason, note): (bool, &'static str, String)) -> Self {
        Self {
            severity: Severity::warning_if(warning),
            reason: Cow::Borrowed(reason),
            note,
        }
    }
}

impl From<govcloud_core::network::link_status::Announcement> for Announcement {
    fn from(event: govcloud_core::network::link_status::Announcement) -> Self {
        Self {
            severity: Severity::warning_if(event.warning),
            reason: Cow::Borrowed(event.reason),
            note: event.note,
        }
    }
}

impl From<govcloud_core::consolidation::status::Announcement> for Announcement {
    fn from(event: govcloud_core::consolidation::status::Announcement) -> Self {
        Self {
            severity: Severity::warning_if(event.warning),
            reason: Cow::Owned(event.reason),
            note: event.note,
        }
    }
}

/// Publishes `announcement` about `reference` as the controller's `action`; a failure is
/// logged, never fatal.
pub async fn publish(
    recorder: &Recorder,
    reference: &ObjectReference,
    action: &'static str,
    announcement: &Announcement,
) {
    let event = Event {
        type_: announcement.severity.event_type(),
        reason: announcement.reason.clone().into_owned(),
        note: Some(announcement.bounded_note()),
        action: action.to_owned(),
        secondary: None,
    };
    if let Err(error) = recorder.publish(&event, reference).await {
        tracing::debug!(%error, reason = %announcement.reason, object = ?reference.name, "failed to publish an event");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_cut_at_a_character_boundary() {
        let long = Announcement::normal("Reason", "é".repeat(MAX_NOTE_BYTES));
        let note = long.bounded_note();
        assert!(note.ends_with('…'));
        assert!(note.len() <= MAX_NOTE_BYTES + '…'.len_utf8());
        let short = Announcement::warning("Reason", "fine");
        assert_eq!(short.bounded_note(), "fine");
    }

    #[test]
    fn the_builders_shapes_become_one_announcement() {
        let tuple: Announcement = (true, "PrefixReleased", "gone".to_owned()).into();
        assert_eq!(tuple, Announcement::warning("PrefixReleased", "gone"));
        let link: Announcement = govcloud_core::network::link_status::Announcement {
            warning: false,
            reason: "Compliant",
            note: "back".to_owned(),
        }
        .into();
        assert_eq!(link, Announcement::normal("Compliant", "back"));
        let network: Announcement = govcloud_core::consolidation::status::Announcement {
            warning: true,
            reason: "UnknownRouter".to_owned(),
            note: "r1".to_owned(),
        }
        .into();
        assert_eq!(network, Announcement::warning("UnknownRouter", "r1"));
    }
}
