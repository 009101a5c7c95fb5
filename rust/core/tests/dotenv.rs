//! `OperonBuilder::load_dotenv`: `./.env` of the current directory. The current directory and the
//! environment belong to the whole process, so this test binary holds this one test alone (it
//! changes directory) and uses a variable no other test reads.

use operonx::{Operon, OperonError};
use serde_json::{json, Map, Value};

fn build(load: bool) -> Result<Operon, OperonError> {
    let doc = json!({
        "schema_version": "1.0", "type": "graph", "name": "g", "full_name": "g",
        "ops": {"f": {"type": "code"}}, "edges": [], "entries": ["f"], "exits": ["f"]
    });
    Operon::builder(doc.to_string()).op("f", |_: Map<String, Value>| Ok(json!({}))).load_dotenv(load).build()
}

#[test]
fn load_dotenv_loads_the_env_file_of_the_current_directory() {
    let var = format!("OPERONX_DOTENV_TEST_{}", std::process::id());
    let dir = std::env::temp_dir().join(format!("operonx-dotenv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::env::set_current_dir(&dir).unwrap();

    // no .env: nothing is loaded, and that is not an error
    let _ = std::fs::remove_file(dir.join(".env"));
    assert_eq!(build(true).unwrap().options().dotenv_loaded(), None);

    std::fs::write(dir.join(".env"), format!("# a comment\n{var}=from-dotenv\n")).unwrap();
    // off: not loaded
    let engine = build(false).unwrap();
    assert_eq!(engine.options().dotenv_loaded(), None);
    assert!(std::env::var(&var).is_err());
    // on: loaded, and the path is recorded
    let engine = build(true).unwrap();
    assert!(engine.options().load_dotenv());
    assert_eq!(engine.options().dotenv_loaded().map(|p| p.file_name().unwrap().to_owned()), Some(".env".into()));
    assert_eq!(std::env::var(&var).unwrap(), "from-dotenv");

    // a .env that cannot be read fails build(), naming it
    std::fs::write(dir.join(".env"), "this is not a dotenv line\n").unwrap();
    let err = build(true).unwrap_err();
    assert!(matches!(&err, OperonError::Config(m) if m.contains(".env")), "{err:?}");

    let _ = std::fs::remove_dir_all(&dir);
}
