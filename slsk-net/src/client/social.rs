//! Privileges, interests and recommendations, and what the session keeps
//! about watched users: the [`Client`] methods.
//!
//! Which calls wait for the server, and what is kept: see the `client`
//! module documentation.

use std::time::{Duration, Instant};

use slsk_proto::server::{
    GetGlobalRecommendationsResponse, GetItemRecommendationsResponse, GetItemSimilarUsersResponse,
    GetRecommendationsResponse, GetUserInterestsResponse,
};
use slsk_proto::structures::SimilarUser;

use super::error::RequestError;
use super::session::{SocialCommand, SocialReply};
use super::state::{Interests, WatchedUser};
use super::{Client, Reply, unexpected};

impl Client {
    /// Ask the server how much privilege time we have left (CheckPrivileges)
    /// and wait for the answer; zero without privileges. The session also
    /// asks after each login; [`Client::privileges_time_left`] has the last
    /// answer.
    pub async fn check_privileges(&self) -> Result<Duration, RequestError> {
        match self.social(SocialCommand::CheckPrivileges).await? {
            SocialReply::Privileges(left) => Ok(left),
            other => Err(unexpected(Reply::Social(other))),
        }
    }

    /// Give `days` of our privileges to another user (GiveUserPrivileges).
    /// The server does not reply; it refreshes our time left, which arrives
    /// as [`Event::Privileges`](super::Event::Privileges).
    pub async fn give_privileges(&self, username: &str, days: u32) -> Result<(), RequestError> {
        self.social_done(SocialCommand::GivePrivileges {
            username: username.into(),
            days,
        })
        .await
    }

    /// Whether a user has privileges (GetUserPrivileges).
    pub async fn user_privileged(&self, username: &str) -> Result<bool, RequestError> {
        match self
            .social(SocialCommand::UserPrivileged(username.into()))
            .await?
        {
            SocialReply::Privileged(privileged) => Ok(privileged),
            other => Err(unexpected(Reply::Social(other))),
        }
    }

    /// Add something we like (AddInterest). Remembered and sent again after
    /// each login; the server lower-cases it.
    pub async fn add_interest(&self, item: &str) -> Result<(), RequestError> {
        self.social_done(SocialCommand::AddInterest(item.into()))
            .await
    }

    /// Remove something we liked (RemoveInterest).
    pub async fn remove_interest(&self, item: &str) -> Result<(), RequestError> {
        self.social_done(SocialCommand::RemoveInterest(item.into()))
            .await
    }

    /// Add something we hate (AddHatedInterest). Remembered and sent again
    /// after each login.
    pub async fn add_hated_interest(&self, item: &str) -> Result<(), RequestError> {
        self.social_done(SocialCommand::AddHatedInterest(item.into()))
            .await
    }

    /// Remove something we hated (RemoveHatedInterest).
    pub async fn remove_hated_interest(&self, item: &str) -> Result<(), RequestError> {
        self.social_done(SocialCommand::RemoveHatedInterest(item.into()))
            .await
    }

    /// Recommendations and unrecommendations from our interests
    /// (GetRecommendations).
    pub async fn recommendations(&self) -> Result<GetRecommendationsResponse, RequestError> {
        match self.social(SocialCommand::Recommendations).await? {
            SocialReply::Recommendations(reply) => Ok(reply),
            other => Err(unexpected(Reply::Social(other))),
        }
    }

    /// The network-wide ranking of interests (GetGlobalRecommendations).
    pub async fn global_recommendations(
        &self,
    ) -> Result<GetGlobalRecommendationsResponse, RequestError> {
        match self.social(SocialCommand::GlobalRecommendations).await? {
            SocialReply::GlobalRecommendations(reply) => Ok(reply),
            other => Err(unexpected(Reply::Social(other))),
        }
    }

    /// Users with interests like ours (GetSimilarUsers).
    pub async fn similar_users(&self) -> Result<Vec<SimilarUser>, RequestError> {
        match self.social(SocialCommand::SimilarUsers).await? {
            SocialReply::SimilarUsers(users) => Ok(users),
            other => Err(unexpected(Reply::Social(other))),
        }
    }

    /// Recommendations based on one item (GetItemRecommendations).
    pub async fn item_recommendations(
        &self,
        item: &str,
    ) -> Result<GetItemRecommendationsResponse, RequestError> {
        match self
            .social(SocialCommand::ItemRecommendations(item.into()))
            .await?
        {
            SocialReply::ItemRecommendations(reply) => Ok(reply),
            other => Err(unexpected(Reply::Social(other))),
        }
    }

    /// Users who like one item (GetItemSimilarUsers).
    pub async fn item_similar_users(
        &self,
        item: &str,
    ) -> Result<GetItemSimilarUsersResponse, RequestError> {
        match self
            .social(SocialCommand::ItemSimilarUsers(item.into()))
            .await?
        {
            SocialReply::ItemSimilarUsers(reply) => Ok(reply),
            other => Err(unexpected(Reply::Social(other))),
        }
    }

    /// A user's liked and hated interests (GetUserInterests); empty for an
    /// offline user.
    pub async fn user_interests(
        &self,
        username: &str,
    ) -> Result<GetUserInterestsResponse, RequestError> {
        match self
            .social(SocialCommand::UserInterests(username.into()))
            .await?
        {
            SocialReply::UserInterests(reply) => Ok(reply),
            other => Err(unexpected(Reply::Social(other))),
        }
    }

    /// The users we watch ([`Client::watch`]) with their status and
    /// statistics as last reported.
    pub fn watched(&self) -> Vec<WatchedUser> {
        self.state.read().watched.values().cloned().collect()
    }

    /// One watched user.
    pub fn watched_user(&self, username: &str) -> Option<WatchedUser> {
        self.state.read().watched.get(username).cloned()
    }

    /// The users with privileges: the list the server sends after login,
    /// kept up to date by the privileged flags of later status replies.
    pub fn privileged_users(&self) -> Vec<String> {
        self.state.read().privileged.iter().cloned().collect()
    }

    /// Whether `username` is among [`Client::privileged_users`].
    pub fn is_privileged(&self, username: &str) -> bool {
        self.state.read().privileged.contains(username)
    }

    /// Our privilege time left now, counted down from the server's last
    /// answer to CheckPrivileges; `None` before the first answer.
    pub fn privileges_time_left(&self) -> Option<Duration> {
        let (left, at) = self.state.read().privileges?;
        Some(left.saturating_sub(Instant::now().saturating_duration_since(at)))
    }

    /// Our interests, as sent to the server.
    pub fn interests(&self) -> Interests {
        self.state.read().interests.clone()
    }
}
