"""Bodies of the feed endpoints: pages of posts as the viewer sees them."""

from lifeceo.community.posts.schemas import PostOut
from lifeceo.platform.http.pagination import Page

PostPage = Page[PostOut]
