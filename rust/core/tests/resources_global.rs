//! The process-wide resource hub and the builder's resource options. The hub, the current directory
//! and the environment belong to the whole process, so this binary holds one test that runs the
//! cases in order.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use operonx::resources::{self, BootstrapOpts, ResourceHub};
use operonx::{Operon, OperonError};
use serde_json::{json, Map, Value};

fn doc() -> String {
    json!({
        "schema_version": "1.0", "type": "graph", "name": "g", "full_name": "g",
        "ops": {"f": {"type": "code", "func_name": "f"}}, "edges": [], "entries": ["f"], "exits": ["f"]
    })
    .to_string()
}

/// An op that reads `llm:gpt` of the process-wide hub.
fn model_of_global(_: Map<String, Value>) -> Result<Value, OperonError> {
    let gpt = resources::get("llm:gpt")?;
    Ok(json!({"model": gpt["model"]}))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn the_process_wide_hub_and_the_builder_options() {
    let d = std::env::temp_dir().join(format!("operonx-res-global-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let first = write(&d, "first.yaml", "llm:\n  gpt:\n    model: first\n");
    let second = write(&d, "second.yaml", "llm:\n  gpt:\n    model: second\n");

    no_hub_installed_is_an_error_naming_the_remedy();
    builder_hubs_and_installation(&first, &second);
    an_op_can_hold_the_hub_it_shares_with_the_engine(&second);
    contradicting_options_are_refused(&first);
    bootstrap_reads_the_current_directory(&d);
    let _ = std::fs::remove_dir_all(&d);
}

fn no_hub_installed_is_an_error_naming_the_remedy() {
    resources::uninstall();
    let err = resources::get("llm:gpt").unwrap_err();
    assert!(matches!(&err, OperonError::ResourceHub(m) if m.contains("no resource hub is installed")), "{err:?}");
    assert!(ResourceHub::instance().is_err());
    // an engine with no resources option and no hub installed has an empty hub; it installs nothing
    let engine = Operon::builder(doc()).op("f", model_of_global).build().unwrap();
    assert!(engine.resources().is_empty());
    assert!(resources::installed().is_none());
    let err = engine.run(json!({})).unwrap_err().to_string();
    assert!(err.contains("no resource hub is installed"), "{err}");
}

fn builder_hubs_and_installation(first: &Path, second: &Path) {
    // install_global_hub(false): the engine has its hub, the process none
    let engine = Operon::builder(doc()).op("f", model_of_global).resources(first).install_global_hub(false).build().unwrap();
    assert_eq!(engine.resources().get("llm:gpt").unwrap()["model"], "first");
    assert!(resources::installed().is_none());

    // by default the first engine's hub becomes the process-wide hub; a later engine does not replace it
    let engine = Operon::builder(doc()).op("f", model_of_global).resources(first).build().unwrap();
    assert_eq!(engine.run(json!({})).unwrap().outputs["model"], json!("first"));
    let later = Operon::builder(doc()).op("f", model_of_global).resources(second).build().unwrap();
    assert_eq!(later.resources().get("llm:gpt").unwrap()["model"], "second");
    assert_eq!(later.run(json!({})).unwrap().outputs["model"], json!("first"));

    // an engine with no resources option takes the installed hub; no_resources() an empty one
    let engine = Operon::builder(doc()).op("f", model_of_global).build().unwrap();
    assert_eq!(engine.resources().get("llm:gpt").unwrap()["model"], "first");
    let engine = Operon::builder(doc()).op("f", model_of_global).no_resources().build().unwrap();
    assert!(engine.resources().is_empty());
    resources::uninstall();
}

fn an_op_can_hold_the_hub_it_shares_with_the_engine(second: &Path) {
    let hub = Arc::new(ResourceHub::from_yaml(second).unwrap());
    let held = hub.clone();
    let engine = Operon::builder(doc())
        .op("f", move |_: Map<String, Value>| Ok(json!({"model": held.get("llm:gpt")?["model"]})))
        .resource_hub(hub.clone())
        .install_global_hub(false)
        .build()
        .unwrap();
    assert!(Arc::ptr_eq(engine.resources(), &hub));
    assert_eq!(engine.run(json!({})).unwrap().outputs["model"], json!("second"));
    assert!(resources::installed().is_none());
}

fn contradicting_options_are_refused(first: &Path) {
    let err = Operon::builder(doc()).op("f", model_of_global).resources(first).no_resources().build().unwrap_err();
    assert!(matches!(&err, OperonError::Usage(m) if m.contains("more than one")), "{err:?}");
    let bad = first.with_file_name("bad.yaml");
    std::fs::write(&bad, "llm: [\n").unwrap();
    let err = Operon::builder(doc()).op("f", model_of_global).resources(&bad).build().unwrap_err();
    assert!(matches!(&err, OperonError::ResourceFile { line: Some(_), .. }), "{err:?}");
}

fn bootstrap_reads_the_current_directory(d: &Path) {
    let cwd = d.join("project");
    std::fs::create_dir_all(&cwd).unwrap();
    std::env::set_current_dir(&cwd).unwrap();
    // no resources.yaml: nothing installed, not an error
    assert!(resources::bootstrap(BootstrapOpts::new()).unwrap().is_none());
    assert!(resources::installed().is_none());

    std::env::set_var("BOOT_KEPT", "from-environment");
    write(&cwd, ".env", "BOOT_KEY=sk-boot\nBOOT_KEPT=from-dotenv\n");
    write(&cwd, "resources.yaml", "llm:\n  gpt:\n    model: boot\n    key: ${BOOT_KEY}\n    kept: ${BOOT_KEPT}\n");
    let hub = resources::bootstrap(BootstrapOpts::new()).unwrap().unwrap();
    assert!(Arc::ptr_eq(&hub, &resources::installed().unwrap()));
    assert_eq!(std::env::var("BOOT_KEY").unwrap(), "sk-boot");
    assert_eq!(std::env::var("BOOT_KEPT").unwrap(), "from-environment");
    let gpt = resources::get("llm:gpt").unwrap();
    assert_eq!((gpt["key"].as_str(), gpt["kept"].as_str()), (Some("sk-boot"), Some("from-environment")));
    assert_eq!(hub.env_file(), Some(cwd.join(".env").as_path()));

    // a second bootstrap replaces the hub; an explicit file that is missing is an error
    let again = resources::bootstrap(BootstrapOpts::new().no_env()).unwrap().unwrap();
    assert!(!Arc::ptr_eq(&hub, &again));
    let err = resources::bootstrap(BootstrapOpts::new().resources(cwd.join("nope.yaml"))).unwrap_err();
    assert!(matches!(&err, OperonError::ResourceFile { .. }), "{err:?}");
    resources::uninstall();
}
