//! Interests (liked and hated items) and the recommendations computed from
//! the interests of the users online.
//!
//! Unlike soulfind, which keeps them for the session only, interests are
//! stored: a user's list survives logouts and restarts, and clients that
//! re-send their list at login just re-add what is already there.

use std::collections::{BTreeMap, BTreeSet};

use slsk_proto::server::{
    GetGlobalRecommendationsResponse, GetItemRecommendationsResponse, GetItemSimilarUsersResponse,
    GetRecommendationsResponse, GetSimilarUsersResponse, GetUserInterestsResponse,
};
use slsk_proto::structures::{Recommendation, SimilarUser};

use super::{ConnId, ServerState};

/// The most items in each list (likes, hates) of a user.
pub const MAX_INTERESTS: usize = 30;

/// The longest item, in bytes; items are 1 to 64 bytes.
pub const MAX_ITEM_BYTES: usize = 64;

/// Length of each list in GetRecommendations(54).
const USER_LIST: usize = 100;
/// Length of each list in GetGlobalRecommendations(56).
const GLOBAL_LIST: usize = 200;
/// Length of GetItemRecommendations(111) (the official cap).
const ITEM_LIST: usize = 100;

/// One user's liked and hated items: lower-cased, de-duplicated, at most
/// [`MAX_INTERESTS`] each. The same item may be in both lists (soulfind).
///
/// ```
/// use slsk_server::state::Interests;
///
/// let mut mine = Interests::default();
/// assert!(mine.add("Jazz", false).is_some());
/// assert!(mine.add("JAZZ", false).is_none(), "already there");
/// let mut theirs = Interests::default();
/// theirs.add("jazz", false);
/// theirs.add("blues", false);
/// theirs.add("noise", true);
/// // Alike in one item: their other likes gain 1, their hates lose 1.
/// let scores = mine.recommendations([&theirs]);
/// assert_eq!(scores, [("blues".to_owned(), 1), ("noise".to_owned(), -1)].into());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interests {
    pub likes: BTreeSet<String>,
    pub hates: BTreeSet<String>,
}

impl Interests {
    /// From the store's lists (already normalised when they were added).
    pub(super) fn from_stored(likes: Vec<String>, hates: Vec<String>) -> Self {
        Self {
            likes: likes.into_iter().collect(),
            hates: hates.into_iter().collect(),
        }
    }

    /// Adds an item to the likes or the hates; the normalised item if it was
    /// added, `None` if it is already there, the list is full, or the item
    /// is empty or over [`MAX_ITEM_BYTES`] once lower-cased.
    pub fn add(&mut self, item: &str, hated: bool) -> Option<String> {
        let item = item.to_lowercase();
        let list = if hated {
            &mut self.hates
        } else {
            &mut self.likes
        };
        if item.is_empty()
            || item.len() > MAX_ITEM_BYTES
            || list.len() >= MAX_INTERESTS
            || list.contains(&item)
        {
            return None;
        }
        list.insert(item.clone());
        Some(item)
    }

    /// Removes an item (lower-cased first); the normalised item if it was
    /// there.
    pub fn remove(&mut self, item: &str, hated: bool) -> Option<String> {
        let item = item.to_lowercase();
        let list = if hated {
            &mut self.hates
        } else {
            &mut self.likes
        };
        list.remove(&item).then_some(item)
    }

    fn rated(&self, item: &str) -> bool {
        self.likes.contains(item) || self.hates.contains(item)
    }

    /// How alike another user is (soulfind's weight): +1 per item both
    /// like, +1 per item both hate, −1 per item one likes and the other
    /// hates.
    pub fn similarity(&self, other: &Interests) -> i32 {
        let count = |a: &BTreeSet<String>, b: &BTreeSet<String>| {
            i32::try_from(a.intersection(b).count()).unwrap_or(i32::MAX)
        };
        count(&self.likes, &other.likes) + count(&self.hates, &other.hates)
            - count(&self.likes, &other.hates)
            - count(&self.hates, &other.likes)
    }

    /// GetRecommendations(54) scores, soulfind's algorithm: for each other
    /// user with a non-zero [`similarity`](Self::similarity) w, each of
    /// their likes this user has not rated gains w, each of their hates it
    /// has not rated loses w. Zero scores are left out.
    pub fn recommendations<'a>(
        &self,
        others: impl IntoIterator<Item = &'a Interests>,
    ) -> BTreeMap<String, i32> {
        let mut scores = BTreeMap::new();
        for other in others {
            let weight = self.similarity(other);
            if weight == 0 {
                continue;
            }
            for (items, sign) in [(&other.likes, 1), (&other.hates, -1)] {
                for item in items.iter().filter(|item| !self.rated(item)) {
                    *scores.entry(item.clone()).or_insert(0) += sign * weight;
                }
            }
        }
        scores.retain(|_, score| *score != 0);
        scores
    }
}

/// GetGlobalRecommendations(56) scores: +1 per like, −1 per hate, over the
/// given users; zero scores are left out.
pub(super) fn global_scores<'a>(
    users: impl IntoIterator<Item = &'a Interests>,
) -> BTreeMap<String, i32> {
    let mut scores = BTreeMap::new();
    for user in users {
        for (items, sign) in [(&user.likes, 1), (&user.hates, -1)] {
            for item in items {
                *scores.entry(item.clone()).or_insert(0) += sign;
            }
        }
    }
    scores.retain(|_, score| *score != 0);
    scores
}

/// GetItemRecommendations(111) scores: each user who likes `item` counts
/// +1, one who hates it −1; that weight goes to the user's other likes and,
/// negated, to their other hates. Zero scores are left out.
pub(super) fn item_scores<'a>(
    item: &str,
    users: impl IntoIterator<Item = &'a Interests>,
) -> BTreeMap<String, i32> {
    let mut scores = BTreeMap::new();
    for user in users {
        let weight = i32::from(user.likes.contains(item)) - i32::from(user.hates.contains(item));
        if weight == 0 {
            continue;
        }
        for (items, sign) in [(&user.likes, 1), (&user.hates, -1)] {
            for other in items.iter().filter(|other| other.as_str() != item) {
                *scores.entry(other.clone()).or_insert(0) += sign * weight;
            }
        }
    }
    scores.retain(|_, score| *score != 0);
    scores
}

/// The `limit` highest scores, highest first, and the `limit` lowest,
/// lowest first; ties by item name, so replies are reproducible.
fn top_and_bottom(
    scores: BTreeMap<String, i32>,
    limit: usize,
) -> (Vec<Recommendation>, Vec<Recommendation>) {
    let mut sorted: Vec<Recommendation> = scores
        .into_iter()
        .map(|(recommendation, score)| Recommendation {
            recommendation,
            score,
        })
        .collect();
    // BTreeMap order is by name; a stable sort keeps it among equal scores.
    sorted.sort_by_key(|r| std::cmp::Reverse(r.score));
    let top = sorted.iter().take(limit).cloned().collect();
    sorted.sort_by_key(|r| r.score);
    sorted.truncate(limit);
    (top, sorted)
}

impl ServerState {
    /// The interests of every online user but `except`.
    fn others_interests<'a>(&'a self, except: &'a str) -> impl Iterator<Item = &'a Interests> {
        self.sessions
            .iter()
            .filter(move |(name, _)| name.as_str() != except)
            .map(|(_, s)| &s.interests)
    }

    /// AddInterest(51) / AddHatedInterest(117): normalised, stored. No
    /// reply.
    pub(super) fn add_interest(&mut self, me: &str, item: &str, hated: bool) {
        let Some(session) = self.sessions.get_mut(me) else {
            return;
        };
        let Some(item) = session.interests.add(item, hated) else {
            return tracing::debug!(user = %me, "interest not added");
        };
        if let Err(e) = self.store.add_interest(me, hated, &item) {
            self.store_failed("storing an interest", &e);
        }
    }

    /// RemoveInterest(52) / RemoveHatedInterest(118). No reply.
    pub(super) fn remove_interest(&mut self, me: &str, item: &str, hated: bool) {
        let Some(session) = self.sessions.get_mut(me) else {
            return;
        };
        let Some(item) = session.interests.remove(item, hated) else {
            return;
        };
        if let Err(e) = self.store.remove_interest(me, hated, &item) {
            self.store_failed("removing an interest", &e);
        }
    }

    /// GetUserInterests(57): the user's likes and hates, live for an online
    /// user, stored for an offline one (they are kept now), empty for an
    /// unknown one.
    pub(super) fn user_interests(&mut self, conn: ConnId, username: &str) {
        let (interests, hated_interests) = match self.sessions.get(username) {
            Some(session) => (
                session.interests.likes.iter().cloned().collect(),
                session.interests.hates.iter().cloned().collect(),
            ),
            None => match self.store.interests(username) {
                Ok(lists) => lists,
                Err(e) => return self.store_failed("reading interests", &e),
            },
        };
        let username = username.to_owned();
        self.send(
            conn,
            GetUserInterestsResponse {
                username,
                interests,
                hated_interests,
            },
        );
    }

    /// GetGlobalRecommendations(56): over every online user, the asker
    /// included; the top 200 and the bottom 200.
    pub(super) fn global_recommendations(&mut self, conn: ConnId) {
        let scores = global_scores(self.sessions.values().map(|s| &s.interests));
        let (recommendations, unrecommendations) = top_and_bottom(scores, GLOBAL_LIST);
        self.send(
            conn,
            GetGlobalRecommendationsResponse {
                recommendations,
                unrecommendations,
            },
        );
    }

    /// GetRecommendations(54): [`Interests::recommendations`] over the other
    /// online users; the top 100 and the bottom 100.
    pub(super) fn recommendations(&mut self, conn: ConnId, me: &str) {
        let Some(mine) = self.sessions.get(me).map(|s| &s.interests) else {
            return;
        };
        let scores = mine.recommendations(self.others_interests(me));
        let (recommendations, unrecommendations) = top_and_bottom(scores, USER_LIST);
        self.send(
            conn,
            GetRecommendationsResponse {
                recommendations,
                unrecommendations,
            },
        );
    }

    /// GetSimilarUsers(110): the other online users with a positive
    /// [`Interests::similarity`], most similar first (soulfind; aioslsk saw
    /// the official server count shared likes only, and need more than one).
    pub(super) fn similar_users(&mut self, conn: ConnId, me: &str) {
        let Some(mine) = self.sessions.get(me).map(|s| &s.interests) else {
            return;
        };
        let mut users: Vec<SimilarUser> = self
            .sessions
            .iter()
            .filter(|(name, _)| name.as_str() != me)
            .filter_map(|(name, s)| {
                let score = u32::try_from(mine.similarity(&s.interests)).ok()?;
                (score > 0).then(|| SimilarUser {
                    username: name.clone(),
                    score,
                })
            })
            .collect();
        users.sort_by(|a, b| b.score.cmp(&a.score).then(a.username.cmp(&b.username)));
        self.send(conn, GetSimilarUsersResponse { users });
    }

    /// GetItemRecommendations(111): [`item_scores`] over the other online
    /// users, highest first, at most 100 (the official cap; soulfind has
    /// none and counts the asker too).
    pub(super) fn item_recommendations(&mut self, conn: ConnId, me: &str, item: String) {
        let normalised = item.to_lowercase();
        let scores = item_scores(&normalised, self.others_interests(me));
        let (recommendations, _) = top_and_bottom(scores, ITEM_LIST);
        self.send(
            conn,
            GetItemRecommendationsResponse {
                item,
                recommendations,
            },
        );
    }

    /// GetItemSimilarUsers(112): the online users who like the item, the
    /// asker included, by name.
    pub(super) fn item_similar_users(&mut self, conn: ConnId, item: String) {
        let normalised = item.to_lowercase();
        let mut usernames: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.interests.likes.contains(&normalised))
            .map(|(name, _)| name.clone())
            .collect();
        usernames.sort();
        self.send(conn, GetItemSimilarUsersResponse { item, usernames });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interests(likes: &[&str], hates: &[&str]) -> Interests {
        let mut i = Interests::default();
        for item in likes {
            i.add(item, false);
        }
        for item in hates {
            i.add(item, true);
        }
        i
    }

    #[test]
    fn items_are_normalised_and_bounded() {
        let mut i = Interests::default();
        assert_eq!(i.add("Jazz", false).as_deref(), Some("jazz"));
        assert_eq!(i.add("jAZZ", false), None);
        assert_eq!(i.add("jazz", true).as_deref(), Some("jazz"), "both lists");
        assert_eq!(i.add("", false), None);
        assert_eq!(i.add(&"x".repeat(65), false), None);
        assert!(i.add(&"x".repeat(64), false).is_some());
        for n in 0..40 {
            i.add(&format!("item{n}"), false);
        }
        assert_eq!(i.likes.len(), MAX_INTERESTS);
        assert_eq!(i.remove("JAZZ", false).as_deref(), Some("jazz"));
        assert_eq!(i.remove("jazz", false), None);
    }

    /// A worked example. Me: likes jazz, blues; hates noise.
    /// - ann likes jazz, soul; hates noise, polka: weight 1 + 1 = 2.
    /// - bob likes noise, metal; hates blues: weight −1 − 1 = −2.
    /// - cid likes opera: weight 0, ignored.
    ///
    /// soul: +2 (ann). polka: −2 (ann). metal: −2 (bob likes it, weight −2).
    /// noise and blues are rated by me: left out.
    #[test]
    fn recommendations_follow_the_weights() {
        let me = interests(&["jazz", "blues"], &["noise"]);
        let ann = interests(&["jazz", "soul"], &["noise", "polka"]);
        let bob = interests(&["noise", "metal"], &["blues"]);
        let cid = interests(&["opera"], &[]);
        assert_eq!(me.similarity(&ann), 2);
        assert_eq!(me.similarity(&bob), -2);
        assert_eq!(me.similarity(&cid), 0);
        let scores = me.recommendations([&ann, &bob, &cid]);
        let expected: BTreeMap<String, i32> = [("soul", 2), ("polka", -2), ("metal", -2)]
            .map(|(k, v)| (k.to_owned(), v))
            .into();
        assert_eq!(scores, expected);
        let (top, bottom) = top_and_bottom(scores, 2);
        let names = |list: &[Recommendation]| -> Vec<(String, i32)> {
            list.iter()
                .map(|r| (r.recommendation.clone(), r.score))
                .collect()
        };
        assert_eq!(
            names(&top),
            [("soul".to_owned(), 2), ("metal".to_owned(), -2)]
        );
        assert_eq!(
            names(&bottom),
            [("metal".to_owned(), -2), ("polka".to_owned(), -2)]
        );
    }

    #[test]
    fn global_and_item_scores() {
        let ann = interests(&["jazz", "soul"], &["noise"]);
        let bob = interests(&["jazz"], &["soul"]);
        let cid = interests(&["noise"], &["jazz"]);
        let global = global_scores([&ann, &bob, &cid]);
        // jazz 2 − 1 = 1; soul 1 − 1 = 0 (left out); noise −1 + 1 = 0.
        assert_eq!(global, [("jazz".to_owned(), 1)].into());
        // jazz: ann +1, bob +1, cid −1.
        // soul: ann likes (+1), bob hates (−1) → 0; noise: ann hates (−1),
        // cid likes but weighs −1 (−1) → −2.
        let item = item_scores("jazz", [&ann, &bob, &cid]);
        assert_eq!(item, [("noise".to_owned(), -2)].into());
    }
}
