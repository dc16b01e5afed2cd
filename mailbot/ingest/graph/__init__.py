"""The Microsoft Graph mailbox: tokens (MSAL), the HTTP client with throttling, delta sync,
folders and change notifications."""
