//! `govcloud-lab`: builds the network lab by hand (routers as network namespaces,
//! two veth pairs per link) and takes it down again; prints the `Router` and `ExtranetLink`
//! objects that describe it, for `kubectl apply -f -`. See docs/lab.md.

use std::process::ExitCode;

use govcloud_tests::lab::{self, Lab, Topology};

const USAGE: &str = "usage: govcloud-lab up [PREFIX] | down [PREFIX] | objects [INTERVAL_SECONDS]
  up       build the lab (namespaces PREFIX-city, PREFIX-hanbin, …; PREFIX defaults to gclab)
  down     delete every namespace of the lab
  objects  print the lab's Router and ExtranetLink objects as JSON lines";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let prefix = args.get(1).map_or("gclab", String::as_str);
    let outcome = match args.first().map(String::as_str) {
        Some("up") => Lab::up(Topology::ankang(), prefix).map(|lab| {
            for namespace in lab.keep() {
                println!("{namespace}");
            }
        }),
        Some("down") => lab::remove(prefix).map(|removed| {
            for namespace in removed {
                println!("deleted {namespace}");
            }
        }),
        Some("objects") => {
            let interval = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(30);
            for object in Topology::ankang().objects(interval) {
                println!("{object}");
            }
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
