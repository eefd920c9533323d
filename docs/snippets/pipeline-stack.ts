// cdk/bin/pipeline.ts: a CDK Pipelines app that deploys Bedrock Chat with the replacement check as
// a pre step and the migration as a post step. Point cdk.json's "app" at this file
// (`npx ts-node --prefer-ts-exts bin/pipeline.ts`) and deploy the pipeline once with
// `npx cdk deploy BedrockChatPipeline`; from then on it deploys itself and Bedrock Chat on every
// push. The repository holds Bedrock Chat's CDK app in `cdk/` and this tool vendored in `guard/`
// (a git subtree; a submodule needs `codeBuildCloneOutput: true` on the source and
// `git submodule update --init` in every step).
import { App, Stack, StackProps, Stage, StageProps } from "aws-cdk-lib";
import { BuildSpec, LinuxBuildImage } from "aws-cdk-lib/aws-codebuild";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { CodeBuildStep, CodePipeline, CodePipelineSource, ShellStep } from "aws-cdk-lib/pipelines";
import { Construct } from "constructs";

// Replace with your stage that instantiates BedrockChatStack (cdk/lib/bedrock-chat-stack.ts) with
// the props of cdk/bin/bedrock-chat.ts. Keep `stackName: "BedrockChatStack"` when the stack was
// deployed before with `cdk deploy`: without it the stage would create a second stack,
// "Prod-BedrockChatStack", instead of updating yours.
export class BedrockChatStage extends Stage {
  public readonly bedrockChat: Stack;

  constructor(scope: Construct, id: string, props?: StageProps) {
    super(scope, id, props);
    this.bedrockChat = new Stack(this, "BedrockChatStack", { stackName: "BedrockChatStack" });
  }
}

export interface BedrockChatPipelineStackProps extends StackProps {
  /** "owner/repo" of the repository, reached through a CodeConnections connection. */
  readonly repository: string;
  readonly branch: string;
  readonly connectionArn: string;
  /**
   * Let a guarded replacement through (the check then passes and the post step migrates). Set it
   * in the change that upgrades across a replacing release (Bedrock Chat v0 to v1) and remove it
   * afterwards. The pipeline deploys with CloudFormation actions, so the old cluster is kept only
   * by its UpdateReplacePolicy snapshot: for the manual snapshot and the credential record, run
   * that one upgrade with `cargo xtask deploy --on-replace both` instead.
   */
  readonly allowGuardedReplacement?: boolean;
}

export class BedrockChatPipelineStack extends Stack {
  constructor(scope: Construct, id: string, props: BedrockChatPipelineStackProps) {
    super(scope, id, props);

    const source = CodePipelineSource.connection(props.repository, props.branch, {
      connectionArn: props.connectionArn,
    });
    const pipeline = new CodePipeline(this, "Pipeline", {
      dockerEnabledForSynth: true, // Bedrock Chat bundles its Lambda code with Docker
      synth: new ShellStep("Synth", {
        input: source,
        commands: ["cd cdk", "npm ci", "npx cdk synth"],
        primaryOutputDirectory: "cdk/cdk.out",
      }),
    });

    const stage = new BedrockChatStage(this, "Prod", { env: props.env });
    const stack = stage.bedrockChat;

    // Both steps run `cargo xtask` in CodeBuild, so they need the Rust toolchain (rustup, in the
    // install phase) and Node.js 20 for the CDK CLI. They are CodeBuildSteps (ShellSteps with an
    // IAM role and CodeBuild settings) because they call AWS themselves. The alias `cargo xtask` is
    // defined for the repository root, so paths are relative to it (see the GitHub workflow).
    const codeBuild = {
      input: source,
      buildEnvironment: { buildImage: LinuxBuildImage.STANDARD_7_0, privileged: true },
      partialBuildSpec: BuildSpec.fromObject({
        phases: { install: { "runtime-versions": { nodejs: 20 } } },
      }),
      installCommands: [
        "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal",
      ],
      env: {
        CARGO_ALIAS_XTASK: "run --quiet --manifest-path guard/Cargo.toml --package xtask --no-default-features --",
        CI: "true",
      },
    };

    // Pre-deploy: prepare a change set against the deployed stack, classify it, delete it. Exit 3
    // (the Aurora vector store or another stateful resource would be replaced or removed) stops
    // the pipeline before the stage deploys. The stack is named by its path in this app.
    const check = new CodeBuildStep("ReplacementCheck", {
      ...codeBuild,
      env: {
        ...codeBuild.env,
        ALLOW_GUARDED_REPLACEMENT: props.allowGuardedReplacement ? "true" : "false",
      },
      commands: [
        '. "$HOME/.cargo/env"',
        "(cd cdk && npm ci)",
        [
          `cargo xtask check --app-dir cdk --stack ${stack.node.path} --json > replacement-plan.json \\`,
          "  && status=0 || status=$?",
          'cat replacement-plan.json',
          'if [ "$status" = 3 ] && [ "$ALLOW_GUARDED_REPLACEMENT" != true ]; then exit 3; fi',
          'if [ "$status" != 0 ] && [ "$status" != 3 ]; then exit "$status"; fi',
          "export MIGRATION_NEEDED=$(node -p 'require(\"./replacement-plan.json\").migration_needed')",
        ].join("\n"),
      ],
      rolePolicyStatements: [
        // The CDK CLI prepares the change set through the bootstrap roles.
        new PolicyStatement({
          actions: ["sts:AssumeRole"],
          resources: [`arn:aws:iam::${stack.account}:role/cdk-*`],
        }),
        // The tool reads the change set and the deployed template, then deletes the change set.
        new PolicyStatement({
          actions: [
            "cloudformation:DescribeChangeSet",
            "cloudformation:DescribeStacks",
            "cloudformation:DescribeStackResources",
            "cloudformation:ListStackResources",
            "cloudformation:GetTemplate",
            "cloudformation:DeleteChangeSet",
          ],
          resources: ["*"],
        }),
      ],
    });

    // Post-deploy: re-embed every bot when the check saw the vector store replaced (only possible
    // with allowGuardedReplacement). Exit 0 only when every bot's embedding task succeeded.
    const migrate = new CodeBuildStep("Migrate", {
      ...codeBuild,
      env: { ...codeBuild.env, MIGRATION_NEEDED: check.exportedVariable("MIGRATION_NEEDED") },
      commands: [
        '. "$HOME/.cargo/env"',
        [
          'if [ "$MIGRATION_NEEDED" = true ]; then',
          `  cargo xtask migrate --stack ${stack.stackName} --yes`,
          "else",
          '  echo "the vector store was not replaced: nothing to migrate"',
          "fi",
        ].join("\n"),
      ],
      rolePolicyStatements: [
        new PolicyStatement({
          // Scope these to Bedrock Chat's table, cluster and task definition in production.
          actions: [
            "cloudformation:DescribeStacks",
            "dynamodb:Scan",
            "dynamodb:GetItem",
            "ecs:RunTask",
            "ecs:DescribeTasks",
            "ecs:ListTasks",
            "ecs:DescribeTaskDefinition",
            "iam:PassRole",
          ],
          resources: ["*"],
        }),
      ],
    });

    pipeline.addStage(stage, { pre: [check], post: [migrate] });
  }
}

const app = new App();
new BedrockChatPipelineStack(app, "BedrockChatPipeline", {
  repository: "my-org/bedrock-chat",
  branch: "main",
  connectionArn:
    "arn:aws:codeconnections:us-east-1:111111111111:connection/00000000-0000-0000-0000-000000000000",
  env: { account: "111111111111", region: "us-east-1" },
});
app.synth();
