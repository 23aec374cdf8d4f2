//! `govcloud-lab`, the hand-driven network lab of docs/lab.md: `up` builds the five router
//! namespaces with their veth pairs and leaves them, `objects` prints the objects describing
//! them, `down` removes them. Needs root (skips otherwise; fails under GOVCLOUD_REQUIRE_ALL=1).

use std::process::Command;

fn lab(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_govcloud-lab"))
        .args(args)
        .output()
        .expect("run govcloud-lab");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn up_objects_and_down() {
    let (ok, objects, _) = lab(&["objects", "5"]);
    assert!(ok);
    assert_eq!(
        objects.lines().count(),
        9,
        "five Routers and four ExtranetLinks"
    );
    if !govcloud_tests::require::is_root() {
        govcloud_tests::require::skip("up_objects_and_down", "the lab needs root");
        return;
    }
    let prefix = format!("gcltest{}", std::process::id());
    let (ok, namespaces, stderr) = lab(&["up", &prefix]);
    assert!(ok, "{stderr}");
    assert_eq!(namespaces.lines().count(), 5, "{namespaces}");
    let members = Command::new("ip")
        .args([
            "-n",
            &format!("{prefix}-city"),
            "-br",
            "link",
            "show",
            "type",
            "veth",
        ])
        .output()
        .expect("ip");
    let members = String::from_utf8_lossy(&members.stdout);
    assert_eq!(
        members.lines().count(),
        4,
        "two members towards each county: {members}"
    );
    let (ok, removed, stderr) = lab(&["down", &prefix]);
    assert!(ok, "{stderr}");
    assert_eq!(removed.lines().count(), 5, "{removed}");
    let listed = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip");
    assert!(!String::from_utf8_lossy(&listed.stdout).contains(&prefix));
}
