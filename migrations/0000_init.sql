CREATE TABLE `accounts` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`platform` text NOT NULL,
	`platform_user_id` text NOT NULL,
	`username` text,
	`display_name` text,
	`avatar_url` text,
	`account_type` text,
	`status` text DEFAULT 'active' NOT NULL,
	`connection_type` text NOT NULL,
	`name` text,
	`metadata` text,
	`scopes` text DEFAULT '[]' NOT NULL,
	`access_token_enc` text,
	`refresh_token_enc` text,
	`extras_enc` text,
	`key_version` text,
	`token_expires_at` integer,
	`refresh_token_expires_at` integer,
	`token_issued_at` integer,
	`last_refreshed_at` integer,
	`refresh_failures` integer DEFAULT 0 NOT NULL,
	`next_refresh_at` integer,
	`refresh_lease_id` text,
	`refresh_lease_until` integer,
	`expiring_notified_at` integer,
	`last_error_code` text,
	`last_error_message` text,
	`last_error_at` integer,
	`selected_page_id` text,
	`selected_page_name` text,
	`needs_playlist_reauth` integer DEFAULT false NOT NULL,
	`is_shared_account` integer DEFAULT false NOT NULL,
	`connected_at` integer NOT NULL,
	`disconnected_at` integer,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `accounts_workspace_platform_user_uq` ON `accounts` (`workspace_id`,`platform`,`platform_user_id`);--> statement-breakpoint
CREATE INDEX `accounts_workspace_list_idx` ON `accounts` (`workspace_id`,`id`);--> statement-breakpoint
CREATE INDEX `accounts_workspace_status_list_idx` ON `accounts` (`workspace_id`,`status`,`id`);--> statement-breakpoint
CREATE INDEX `accounts_platform_user_idx` ON `accounts` (`platform`,`platform_user_id`);--> statement-breakpoint
CREATE INDEX `accounts_next_refresh_idx` ON `accounts` (`next_refresh_at`);--> statement-breakpoint
CREATE INDEX `accounts_key_version_idx` ON `accounts` (`key_version`);--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`user_id` text NOT NULL,
	`name` text NOT NULL,
	`key_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`last_four` text NOT NULL,
	`scopes` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer,
	`revoked_at` integer,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash_uq` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_workspace_idx` ON `api_keys` (`workspace_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`email` text,
	`ga4_client_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `users_workspace_idx` ON `users` (`workspace_id`);--> statement-breakpoint
CREATE TABLE `workspaces` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`plan` text DEFAULT 'free' NOT NULL,
	`account_limit` integer,
	`allowed_platforms` text,
	`allowed_callback_domains` text DEFAULT '[]' NOT NULL,
	`sandbox` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
