//! The repository: one `MetaStore` over either backend.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use stencil_domain::{Image, ImageKind};

use crate::MetaError;
use crate::db::{Backend, Pool};
use crate::query::ImageQuery;

/// One page of a listing plus the total number of matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// Matches in the whole result, not just this page.
    pub total: u64,
    /// This page's items.
    pub items: Vec<T>,
}

/// Metadata storage for Stencil. Every implementation passes [`crate::conformance`].
#[derive(Debug, Clone)]
pub struct MetaStore {
    pub(crate) pool: Pool,
    backend: Backend,
    pub(crate) counts: Arc<CountCache>,
}

/// Most listing counts remembered at once.
const COUNT_CACHE_ENTRIES: usize = 1024;

/// `TotalCount`s of recent listings, valid while no image was written. Counting is the costly
/// half of a listing (it walks every match, not one page), and clients poll the same filters
/// (Terraform and Packer wait on DescribeImages). Every image write through this store bumps
/// the generation, which invalidates all entries. Only for SQLite, where this process is the
/// only writer; with PostgreSQL other nodes write too, so nothing is cached.
#[derive(Debug, Default)]
pub(crate) struct CountCache {
    generation: AtomicU64,
    totals: Mutex<HashMap<String, (u64, u64)>>,
}

impl CountCache {
    fn get(&self, key: &str) -> (u64, Option<u64>) {
        let generation = self.generation.load(Ordering::Acquire);
        let totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        let hit = totals
            .get(key)
            .filter(|(g, _)| *g == generation)
            .map(|(_, t)| *t);
        (generation, hit)
    }

    /// The total cached for `key` at `generation` (a database-wide change counter).
    fn get_at(&self, key: &str, generation: u64) -> Option<u64> {
        let totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        totals
            .get(key)
            .filter(|(g, _)| *g == generation)
            .map(|(_, t)| *t)
    }

    fn put(&self, key: String, generation: u64, total: u64) {
        let mut totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        if totals.len() >= COUNT_CACHE_ENTRIES {
            totals.clear();
        }
        totals.insert(key, (generation, total));
    }

    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

impl MetaStore {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) and brings the schema up to date.
    pub async fn open(url: &str) -> Result<Self, MetaError> {
        let (pool, backend) = Pool::open(url).await?;
        Ok(MetaStore {
            pool,
            backend,
            counts: Arc::default(),
        })
    }

    /// Which backend this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Inserts a new image. Fails with [`MetaError::Conflict`] if the ID exists in the region.
    pub async fn insert_image(&self, image: &Image) -> Result<(), MetaError> {
        let mut tx = self.pool.begin().await?;
        crate::images::insert(&mut tx, image).await?;
        tx.commit().await?;
        self.counts.invalidate();
        Ok(())
    }

    /// Replaces a stored image record (same region and ID) with `image`.
    pub async fn update_image(&self, image: &Image) -> Result<(), MetaError> {
        let mut tx = self.pool.begin().await?;
        crate::images::delete(&mut tx, &image.region, image.id.as_str()).await?;
        crate::images::insert(&mut tx, image).await?;
        tx.commit().await?;
        self.counts.invalidate();
        Ok(())
    }

    /// Reads one image.
    pub async fn get_image(&self, region: &str, id: &str) -> Result<Option<Image>, MetaError> {
        crate::images::get(&self.pool, region, id).await
    }

    /// Deletes one image; returns whether it existed.
    pub async fn delete_image(&self, region: &str, id: &str) -> Result<bool, MetaError> {
        let mut tx = self.pool.begin().await?;
        let existed = crate::images::delete(&mut tx, region, id).await?;
        crate::shares::unshare_all(&mut tx, region, id).await?;
        tx.commit().await?;
        self.counts.invalidate();
        Ok(existed)
    }

    /// Lists images matching `query`, newest first.
    pub async fn list_images(&self, query: &ImageQuery) -> Result<Page<Image>, MetaError> {
        let (clause, args) = query.where_clause();
        let key = format!("{clause}\u{0}{args:?}");
        // SQLite (one node) counts this process's writes; PostgreSQL (several nodes) reads the
        // counter its triggers move on every node's writes (migration 0006). The counter is
        // read before counting, so a total is never kept under a newer counter than it saw.
        let (generation, cached) = match self.backend {
            Backend::Sqlite => self.counts.get(&key),
            Backend::Postgres => {
                let g = self
                    .pool
                    .count("SELECT n FROM image_changes WHERE id = 1", &[])
                    .await?;
                (g, self.counts.get_at(&key, g))
            }
        };
        let total = match cached {
            Some(total) => total,
            None => {
                let total = crate::images::count(&self.pool, &clause, &args).await?;
                self.counts.put(key, generation, total);
                total
            }
        };
        let items = crate::images::page(&self.pool, &clause, args, query).await?;
        Ok(Page { total, items })
    }

    /// Makes the stored images of `kind` exactly `images` (the catalog at start-up): inserts
    /// new ones, replaces changed ones, removes those no longer listed. One transaction.
    pub async fn sync_catalog(&self, kind: ImageKind, images: &[Image]) -> Result<(), MetaError> {
        let mut tx = self.pool.begin().await?;
        crate::images::delete_kind(&mut tx, kind).await?;
        for image in images {
            if image.kind != kind {
                return Err(MetaError::Invalid(format!(
                    "catalog image {} is {:?}, expected {kind:?}",
                    image.id, image.kind
                )));
            }
            crate::images::insert(&mut tx, image).await?;
        }
        tx.commit().await?;
        self.counts.invalidate();
        Ok(())
    }

    /// Whether an image with this name exists for the owner in the region.
    pub async fn image_name_taken(
        &self,
        region: &str,
        owner: &str,
        name: &str,
    ) -> Result<bool, MetaError> {
        let rows = self
            .pool
            .fetch(
                "SELECT 1 FROM images WHERE region = ? AND owner = ? AND name = ? LIMIT 1",
                &[region.into(), owner.into(), name.into()],
            )
            .await?;
        Ok(!rows.is_empty())
    }
}
