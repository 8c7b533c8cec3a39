//! The folder backend's promises: whole files, no temporaries left, listings, repairs.
use super::*;
use std::fs;

use super::folder::TMP_SUFFIX;

fn id(s: &str) -> ExternalId {
    ExternalId::parse(s).unwrap()
}

fn v(n: u32) -> PromptVersion {
    PromptVersion::new(n).unwrap()
}

#[tokio::test]
async fn save_writes_the_three_files_and_no_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path()).await.unwrap();
    let saved = store
        .save(&id("a1"), v(1), "# one".into(), b"{}".to_vec())
        .await
        .unwrap();
    assert_eq!(fs::read_to_string(&saved.version_path).unwrap(), "# one");
    assert_eq!(fs::read_to_string(&saved.article_path).unwrap(), "# one");
    assert!(store.source_path(&id("a1")).exists());
    assert!(store.has_version(&id("a1"), v(1)).await.unwrap());
    assert!(!store.has_version(&id("a1"), v(2)).await.unwrap());
    assert_eq!(temporaries_under(dir.path()), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn versions_accumulate_and_promote_republishes_an_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path()).await.unwrap();
    store
        .save(&id("a"), v(1), "one".into(), b"{}".to_vec())
        .await
        .unwrap();
    store
        .save(&id("a"), v(2), "two".into(), b"{}".to_vec())
        .await
        .unwrap();
    assert_eq!(store.versions(&id("a")).await.unwrap(), vec![v(1), v(2)]);
    store.promote(&id("a"), v(1)).await.unwrap();
    assert_eq!(
        fs::read_to_string(store.article_path(&id("a"))).unwrap(),
        "one"
    );
    assert!(matches!(
        store.promote(&id("a"), v(9)).await,
        Err(StoreError::NoSuchVersion { .. })
    ));
}

#[tokio::test]
async fn listings_name_sources_versions_and_counts_and_skip_temporaries() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path()).await.unwrap();
    for (i, n) in [("b", 1), ("a", 1), ("a", 2)] {
        store
            .save(&id(i), v(n), format!("{i}{n}"), b"{}".to_vec())
            .await
            .unwrap();
    }
    fs::write(dir.path().join("sources/.c.json.1.0.tmp"), "torn").unwrap();
    fs::write(dir.path().join("sources/not an id.json"), "{}").unwrap();

    // Act
    let ids = store.ids().await.unwrap();
    let versioned = store.versioned_ids().await.unwrap();
    let counts = store.version_counts().await.unwrap();

    // Assert
    assert_eq!(ids, vec![id("a"), id("b")]);
    assert_eq!(versioned, vec![id("a"), id("b")]);
    assert_eq!(counts, BTreeMap::from([(v(1), 2), (v(2), 1)]));
    assert_eq!(store.latest_version(&id("a")).await.unwrap(), Some(v(2)));
    assert_eq!(store.latest_version(&id("z")).await.unwrap(), None);
    assert_eq!(store.read_version(&id("a"), v(1)).await.unwrap(), "a1");
    assert!(matches!(
        store.read_version(&id("a"), v(3)).await,
        Err(StoreError::NoSuchVersion { .. })
    ));
}

#[tokio::test]
async fn a_redelivery_restores_a_missing_source_and_published_copy() {
    // Arrange: a crash left the version without its source and published copy.
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path()).await.unwrap();
    store
        .save(&id("a"), v(1), "one".into(), b"{\"title\":1}".to_vec())
        .await
        .unwrap();
    fs::remove_file(store.article_path(&id("a"))).unwrap();
    fs::remove_file(store.source_path(&id("a"))).unwrap();
    // Act
    let repaired = store
        .ensure_complete(&id("a"), v(1), b"{\"title\":2}".to_vec())
        .await
        .unwrap();
    // Assert
    assert!(repaired);
    assert_eq!(
        fs::read_to_string(store.article_path(&id("a"))).unwrap(),
        "one"
    );
    assert_eq!(
        fs::read_to_string(store.source_path(&id("a"))).unwrap(),
        "{\"title\":2}"
    );
    assert!(
        !store
            .ensure_complete(&id("a"), v(1), b"{}".to_vec())
            .await
            .unwrap(),
        "a complete version is left alone"
    );
}

#[tokio::test]
async fn temporaries_of_dead_processes_are_swept_at_open() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("articles")).unwrap();
    let orphan = dir.path().join("articles/.x.md.999999999.0.tmp");
    let ours = dir
        .path()
        .join(format!("articles/.y.md.{}.0.tmp", std::process::id()));
    fs::write(&orphan, "torn").unwrap();
    fs::write(&ours, "in flight").unwrap();
    ContentStore::open(dir.path()).await.unwrap();
    assert!(!orphan.exists());
    assert!(ours.exists());
}

#[tokio::test]
async fn an_unwritable_folder_is_an_error_that_names_it() {
    // Arrange: `sources` is a file, so nothing can be created in it (even by root).
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path()).await.unwrap();
    fs::remove_dir(dir.path().join("sources")).unwrap();
    fs::write(dir.path().join("sources"), "in the way").unwrap();
    // Act
    let result = store.save(&id("a"), v(1), "x".into(), b"{}".to_vec()).await;
    // Assert
    let err = result.unwrap_err().to_string();
    assert!(err.contains("sources"), "{err}");
    assert!(!store.has_version(&id("a"), v(1)).await.unwrap());
    assert_eq!(temporaries_under(dir.path()), Vec::<PathBuf>::new());
}

/// The temporary files left anywhere under `dir`.
pub(super) fn temporaries_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            found.extend(temporaries_under(&path));
        } else if path.to_string_lossy().ends_with(TMP_SUFFIX) {
            found.push(path);
        }
    }
    found
}
