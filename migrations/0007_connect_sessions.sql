CREATE TABLE `connect_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`token_hash` text NOT NULL,
	`end_user_id` text NOT NULL,
	`end_user_name` text,
	`allowed_platforms` text,
	`return_url` text,
	`origin` text,
	`metadata` text,
	`reconnect_account_id` text,
	`status` text DEFAULT 'pending' NOT NULL,
	`platform` text,
	`claim_id` text,
	`claimed_until` integer,
	`account_id` text,
	`error_code` text,
	`error_message` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`completed_at` integer,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `connect_sessions_token_uq` ON `connect_sessions` (`token_hash`);--> statement-breakpoint
CREATE INDEX `connect_sessions_workspace_idx` ON `connect_sessions` (`workspace_id`,`id`);--> statement-breakpoint
CREATE INDEX `connect_sessions_expires_idx` ON `connect_sessions` (`expires_at`);--> statement-breakpoint
ALTER TABLE `accounts` ADD `end_user_id` text;--> statement-breakpoint
CREATE INDEX `accounts_workspace_end_user_idx` ON `accounts` (`workspace_id`,`end_user_id`,`id`);